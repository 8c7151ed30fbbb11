import Fluent
import SQLKit
import Vapor
import VivierCore
import VivierMail

/// What a campaign's Markdown may name: the person, the company, their preference and unsubscribe links, the job of
/// a job-match campaign, and `segment.<name>` sections that only members of that saved segment see.
enum CampaignContent {
    static let basePaths = [
        "candidate.first_name", "candidate.last_name", "candidate.full_name", "company.name", "preferences_url",
        "unsubscribe_url", "job.title", "job.url", "job.location", "job.department",
    ]

    /// `Développeurs Lyon` → `developpeurs_lyon`, the name a per-segment block uses.
    static func key(_ segment: Segment) -> String {
        Text.slug(segment.name, maxLength: 40).replacingOccurrences(of: "-", with: "_")
    }

    static func schema(segments: [Segment]) -> TemplateSchema {
        TemplateSchema(basePaths + segments.map { "segment.\(key($0))" })
    }

    /// The saved segments a body names in a `{{#segment.x}}` block.
    static func blocks(in body: String, segments: [Segment]) -> [Segment] {
        segments.filter { body.contains("segment.\(key($0))") }
    }
}

/// Sends campaigns: chooses the recipients (segment or chosen people, with the consent the campaign needs, without
/// suppressed addresses), writes one outbox row per recipient with its own tracking links, and pauses, resumes or
/// cancels by changing those rows' states. Queueing is resumable: each page of recipients is one transaction, and a
/// person who already has a row is skipped, so an interrupted queueing continues without sending anyone twice.
struct CampaignSender {
    let db: any Database
    let config: AppConfig
    let now: Date

    init(db: any Database, config: AppConfig, now: Date) {
        self.db = db
        self.config = config
        self.now = now
    }

    init(_ req: Request) {
        self.init(db: req.db, config: req.application.config, now: req.now)
    }

    /// People rendered and written per transaction, and read from the database per query.
    static let pageSize = 500
    static let batchSize = 5_000
    static let trackingLifetime: TimeInterval = 730 * 86_400

    // MARK: - Audience

    /// The people a campaign goes to: where they are read from and the condition they meet.
    struct Audience {
        /// Their facts `f`, and their record `c` only when the condition asks about it (a segment's condition never
        /// does): joining a million records to their facts for nothing was most of reading a large audience on SQLite.
        var from: SQLRaw
        var condition: any SQLExpression
    }

    func audience(_ campaign: Campaign) async throws -> Audience {
        let definition =
            if let segmentID = campaign.$segment.id, let segment = try await Segment.find(segmentID, on: db) {
                segment.definition
            } else { SegmentDefinition() }
        var extra: [any SQLExpression] = []
        var from = SQLRaw("candidate_facts f")
        if campaign.kind == .jobMatch {
            let campaignID = try campaign.requireID()
            extra.append(
                SQLQueryString(
                    "f.id IN (SELECT t.candidate_id FROM campaign_targets t WHERE t.campaign_id = \(bind: campaignID))"
                ))
        }
        if let series = try await campaign.$series.get(on: db), series.offersDigest {
            // Subscribers who chose the monthly digest get the issues in it, not one by one.
            from = SegmentQuery.people
            extra.append(
                SQLRaw(
                    campaign.kind == .digest ? "c.newsletter_rhythm = 'monthly'" : "c.newsletter_rhythm <> 'monthly'"))
        }
        let condition = try SegmentQuery(db: db, now: now).condition(
            definition, requiring: (campaign.purpose, campaign.$series.id))
        return Audience(from: from, condition: SQLList([condition] + extra, separator: SQLRaw(" AND ")))
    }

    func count(_ campaign: Campaign) async throws -> Int {
        let audience = try await audience(campaign)
        return try await db.sql().raw("SELECT COUNT(*) AS n FROM \(audience.from) WHERE \(audience.condition)")
            .first(decoding: Count.self)?.n ?? 0
    }

    // MARK: - Queueing

    /// One recipient of a page, as read for queueing.
    struct Person: Decodable, Sendable {
        var id: UUID
        var email: String
        var first_name: String
        var last_name: String
        var language: String
    }

    /// What every message of a campaign shares, prepared once before the pages of recipients.
    struct Prepared: @unchecked Sendable {
        var campaignID: UUID
        var campaign: Campaign
        var company: Company
        var brand: Brand
        var from: MailAddress
        var templates: [Language: MessageTemplate.Compiled]
        /// Tracked web addresses of the campaign and their numbers.
        var links: [String: Int]
    }

    /// Writes the outbox rows of every recipient not queued yet; returns how many were added. Messages are held
    /// while the campaign is paused and nothing is added once it is cancelled. Each page of recipients is rendered
    /// while the pages before it are written, each in one transaction.
    @discardableResult
    func enqueue(_ campaign: Campaign) async throws -> Int {
        let campaignID = try campaign.requireID()
        let company = try await Company.load(on: db)
        let segments = try await Segment.query(on: db).all()
        var templates: [Language: MessageTemplate.Compiled] = [:]
        for language in Language.allCases {
            let template = MessageTemplate(subject: campaign.subject(language), body: campaign.bodyAsSent(language))
            let problems = template.problems(against: CampaignContent.schema(segments: segments))
            guard problems.isEmpty else { throw Abort(.unprocessableEntity, reason: "\(problems[0])") }
            templates[language] = try template.compiled()
        }
        let blocks = CampaignContent.blocks(in: campaign.bodyFR + campaign.bodyEN, segments: segments)
        let job = try await campaign.$job.get(on: db)
        let audience = try await audience(campaign)
        let prepared = Prepared(
            campaignID: campaignID, campaign: campaign, company: company, brand: Brand(company),
            from: try MailAddress(config.mail.from.address, name: company.name), templates: templates,
            links: try await numberLinks(campaignID, templates: templates, blocks: blocks, company: company, job: job))
        let suppressed = Set(try await Suppression.query(on: db).all().map(\.addressHash))

        // The audience once (ids only), then its pages by id: asking the database for "the next 500" each time
        // would evaluate the whole audience condition again for every page. Put in id order here: asked of SQLite,
        // the order made it walk every person by id and look up their facts (1.9 s at a million people) instead of
        // reading the facts once.
        let everyone = try await db.sql().raw("SELECT f.id FROM \(audience.from) WHERE \(audience.condition)")
            .all(decoding: IDRow.self).map(\.id).sorted()
        var added = 0
        var stencils: [String: Stencil] = [:]
        let resuming = campaign.recipients > 0
        // Two pages rendered and not written yet: PostgreSQL writes them side by side (the write was the slower half
        // of queueing there); SQLite, which has one writer, writes each after the one before, so that the next page
        // renders while one commits and another waits its turn (waiting for each commit left a core idle).
        var writing: [Task<(stop: Bool, count: Int), any Error>] = []
        let serial = !db.isPostgres
        func finishWrites(leaving: Int = 0) async throws -> Bool {
            var stop = false
            while writing.count > leaving {
                let result = try await writing.removeFirst().value
                added += result.count
                stop = stop || result.stop
            }
            return stop
        }
        // Each batch's people are read, and the suppressed left out, while the batch before renders and writes
        // (batches are disjoint: nothing read depends on what the previous one writes).
        let postgres = db.isPostgres
        func read(from start: Int) -> Task<[Person], any Error>? {
            guard start < everyone.count else { return nil }
            let batch = everyone[start..<min(start + Self.batchSize, everyone.count)]
            let db = self.db
            return Task {
                try await db.sql().raw(
                    """
                    SELECT c.id, c.email, c.first_name, c.last_name, c.language FROM candidates c
                    WHERE c.id IN (\(SQLList(batch.map { Self.bind($0, postgres: postgres) }))) ORDER BY c.id
                    """
                ).all(decoding: Person.self).filter { !suppressed.contains(Suppression.hash($0.email)) }
            }
        }
        var reading = read(from: 0)
        defer { reading?.cancel() }
        batches: for batchStart in stride(from: 0, to: everyone.count, by: Self.batchSize) {
            let people = try await reading!.value
            reading = read(from: batchStart + Self.batchSize)
            var members: [String: Set<UUID>] = [:]
            for segment in blocks {
                let inSegment = try SegmentQuery(db: db, now: now).condition(segment.definition)
                members[CampaignContent.key(segment)] = Set(
                    try await db.sql().raw(
                        """
                        SELECT f.id FROM candidate_facts f WHERE \(inSegment)
                        AND f.id IN (\(SQLList(people.map { Self.bind($0.id, postgres: postgres) })))
                        """
                    ).all(decoding: IDRow.self).map(\.id))
            }
            // Only a queueing that resumes has people to skip; a duplicate is refused by the dedupe key anyway.
            let alreadyQueued = resuming ? try await queued(campaignID, among: people.map(\.id), on: db) : []
            let todo = alreadyQueued.isEmpty ? people : people.filter { !alreadyQueued.contains($0.id) }
            // One stencil per language and combination of segment blocks, rendered once; people only fill it.
            func key(_ person: Person) -> String {
                person.language + ":"
                    + blocks.map { members[CampaignContent.key($0)]!.contains(person.id) ? "1" : "0" }
                    .joined()
            }
            let work = todo.map { person -> (Person, Stencil) in
                let key = key(person)
                if let stencil = stencils[key] { return (person, stencil) }
                let language = Language(rawValue: person.language) ?? .fr
                let stencil = Stencil(
                    template: prepared.templates[language]!, links: prepared.links,
                    frame: { html, subject in
                        CandidateMail.frame(html, subject: subject, brand: prepared.brand, publicURL: config.publicURL)
                    },
                    context: { firstName, lastName, preferences, unsubscribe in
                        context(
                            firstName: firstName, lastName: lastName, candidateID: person.id,
                            unsubscribeURL: unsubscribe, company: company, job: job,
                            segments: members.mapValues { $0.contains(person.id) }
                        ).merging(["preferences_url": preferences]) { $1 }
                    })
                stencils[key] = stencil
                return (person, stencil)
            }
            for pageStart in stride(from: 0, to: work.count, by: Self.pageSize) {
                let page = Array(work[pageStart..<min(pageStart + Self.pageSize, work.count)])
                let rows = try await render(page, prepared)
                if try await finishWrites(leaving: 1) { break batches }
                let db = self.db
                let previous = serial ? writing.last : nil
                writing.append(
                    Task {
                        if let previous, try await previous.value.stop { return (true, 0) }
                        return try await db.transaction { db -> (stop: Bool, count: Int) in
                            guard let current = try await Campaign.find(campaignID, on: db),
                                current.status != .cancelled
                            else { return (true, 0) }
                            // A row already queued (a concurrent or earlier queueing) is left alone by its dedupe key.
                            let fresh = try await Self.insert(
                                rows, of: prepared.campaign, held: current.status == .paused, now: now, on: db)
                            // Added to the count in the database: pages written side by side each add their own.
                            try await db.sql().raw(
                                "UPDATE campaigns SET recipients = recipients + \(bind: fresh) WHERE id = \(bind: campaignID)"
                            ).run()
                            return (false, fresh)
                        }
                    })
            }
        }
        _ = try await finishWrites()
        if let current = try await Campaign.find(campaignID, on: db), current.enqueuedAt == nil {
            current.enqueuedAt = now
            try await current.save(on: db)
        }
        return added
    }

    /// A page of messages, rendered on every core but one: the pages written before it are being written on that
    /// one (on 2 cores, rendering on both made queueing slower: 11.3–11.8 s against 9.6–9.8 s for 100,000, as the
    /// writes waited for a core).
    private func render(_ page: [(Person, Stencil)], _ prepared: Prepared) async throws -> [Row] {
        try await withThrowingTaskGroup(of: [Row].self) { group in
            let lanes = max(ProcessInfo.processInfo.activeProcessorCount - 1, 1)
            let size = max((page.count + lanes - 1) / lanes, 1)
            for start in stride(from: 0, to: page.count, by: size) {
                let chunk = Array(page[start..<min(start + size, page.count)])
                group.addTask { try chunk.map { try self.message(to: $0.0, prepared, stencil: $0.1) } }
            }
            var all: [Row] = []
            for try await part in group { all += part }
            return all
        }
    }

    /// Numbers the campaign's tracked links in the order they first appear (each language, every segment block
    /// shown), keeping the numbers of an earlier, interrupted queueing.
    private func numberLinks(
        _ campaignID: UUID, templates: [Language: MessageTemplate.Compiled], blocks: [Segment], company: Company,
        job: Job?
    ) async throws -> [String: Int] {
        var links = Dictionary(
            try await CampaignLink.query(on: db).filter(\.$campaign.$id == campaignID).all().map {
                ($0.url, $0.position)
            },
            uniquingKeysWith: { first, _ in first })
        let everyBlock = Dictionary(uniqueKeysWithValues: blocks.map { (CampaignContent.key($0), true) })
        let sample = context(
            firstName: "", lastName: "", candidateID: UUID(), unsubscribeURL: config.publicURL + "/unsubscribe/x",
            company: company, job: job, segments: everyBlock)
        for language in Language.allCases {
            for url in Self.links(in: templates[language]!.render(sample).html)
            where Self.tracked(url, config: config) && links[url] == nil {
                links[url] = links.count + 1
                try await CampaignLink(campaignID: campaignID, position: links[url]!, url: url).create(on: db)
            }
        }
        return links
    }

    /// One person's message: the stencil of their language and segments, filled with their values, their tracked
    /// links and their unsubscribe headers.
    private func message(to person: Person, _ prepared: Prepared, stencil: Stencil) throws -> Row {
        let outboxID = UUID.timeOrdered(at: now)
        let campaign = prepared.campaign
        let unsubscribeURL = Newsletter.unsubscribeURL(
            candidateID: person.id, outboxID: outboxID, config: config, now: now)
        let rendered = stencil.fill(
            firstName: person.first_name, lastName: person.last_name, preferencesURL: preferencesURL(person.id),
            unsubscribeURL: unsubscribeURL,
            openPixel: campaign.trackOpens
                ? "<img src=\"\(config.publicURL + SiteURL.open(openToken(outboxID)))\" "
                    + "width=\"1\" height=\"1\" alt=\"\">" : "",
            click: { config.publicURL + SiteURL.click(clickToken(outboxID, $0)) })
        let domain = prepared.from.domain
        let message = MailMessage(
            from: prepared.from,
            to: [try MailAddress(person.email, name: "\(person.first_name) \(person.last_name)")],
            subject: rendered.subject, text: rendered.text,
            html: rendered.html,
            replyTo: try MailAddress(
                Verp.address(.reply, messageID: outboxID, domain: domain, secret: config.secret),
                name: prepared.company.name),
            unsubscribe: (
                https: unsubscribeURL,
                mailto: Verp.address(.unsubscribe, messageID: outboxID, domain: domain, secret: config.secret)
            ),
            date: now)
        return Row(
            id: outboxID, candidateID: person.id, dedupeKey: Self.dedupeKey(prepared.campaignID, person.id),
            sender: Verp.address(.bounce, messageID: outboxID, domain: domain, secret: config.secret),
            recipient: person.email, subject: message.subject,
            message: try message.renderedText(), needsSMTPUTF8: message.needsSMTPUTF8)
    }

    /// One campaign message as written to the outbox; what all of a campaign's rows share is added by `insert`.
    struct Row: Sendable {
        var id: UUID
        var candidateID: UUID
        var dedupeKey: String
        var sender: String
        var recipient: String
        var subject: String
        var message: String
        var needsSMTPUTF8: Bool
    }

    /// Writes the rows and their bodies, 500 to a statement; a row whose dedupe key exists is skipped (resuming).
    /// Returns how many were written. Each row brings only what is its own (seven values) and what every row shares
    /// is bound once: a plain multi-row `INSERT` carried 9,000 values a page, each serialised and encoded by Vivier
    /// and parsed and bound by the database (a fifth of queueing's time on both sides). PostgreSQL gets the rows as
    /// one array per column that `unnest` turns back into rows, SQLite as a `VALUES` list.
    static func insert(
        _ rows: [Row], of campaign: Campaign, held: Bool, now: Date, on db: any Database
    ) async throws -> Int {
        let postgres = db.isPostgres
        let status = (held ? OutboxMessage.Status.held : .pending).rawValue
        let due = max(campaign.scheduledAt ?? now, now)
        // NULLs need their type on PostgreSQL, which SQLite would take for a conversion.
        let series: SQLQueryString =
            postgres ? "\(bind: campaign.$series.id)::uuid" : "\(bind: campaign.$series.id)"
        let notAfter: SQLQueryString =
            postgres ? "\(bind: campaign.notAfter)::timestamptz" : "\(bind: campaign.notAfter)"
        var written = 0
        for chunk in stride(from: 0, to: rows.count, by: 500).map({ Array(rows[$0..<min($0 + 500, rows.count)]) }) {
            let source: SQLQueryString =
                postgres
                ? """
                unnest(\(bind: chunk.map(\.id))::uuid[], \(bind: chunk.map(\.dedupeKey))::text[],
                    \(bind: chunk.map(\.candidateID))::uuid[], \(bind: chunk.map(\.sender))::text[],
                    \(bind: chunk.map(\.recipient))::text[], \(bind: chunk.map(\.subject))::text[],
                    \(bind: chunk.map(\.needsSMTPUTF8))::boolean[])
                    AS r(id, dedupe_key, candidate_id, sender, recipient, subject, needs_smtputf8)
                """
                : """
                (SELECT column1 AS id, column2 AS dedupe_key, column3 AS candidate_id, column4 AS sender,
                    column5 AS recipient, column6 AS subject, column7 AS needs_smtputf8
                FROM (VALUES \(SQLList(chunk.map { row in
                    SQLGroupExpression([
                        bind(row.id, postgres: false), SQLBind(row.dedupeKey), bind(row.candidateID, postgres: false),
                        SQLBind(row.sender),
                        SQLBind(row.recipient), SQLBind(row.subject), SQLBind(row.needsSMTPUTF8),
                    ])
                })))) AS r
                """
            // `WHERE true` tells SQLite that ON CONFLICT belongs to the INSERT, not to a join.
            let insertRows: SQLQueryString = """
                INSERT INTO outbox (id, created_at, updated_at, kind, dedupe_key, transactional, candidate_id,
                    sender, recipient, subject, needs_smtputf8, status, attempts, next_attempt_at, campaign_id,
                    consent_purpose, consent_series, not_after)
                SELECT r.id, \(bind: now), \(bind: now), 'campaign', r.dedupe_key, \(bind: false), r.candidate_id,
                    r.sender, r.recipient, r.subject, r.needs_smtputf8, \(bind: status), 0, \(bind: due),
                    \(bind: try campaign.requireID()), \(bind: campaign.purpose.rawValue), \(series), \(notAfter)
                FROM \(source) WHERE true
                ON CONFLICT (dedupe_key) DO NOTHING
                """
            if postgres {
                let inserted = Set(
                    try await db.sql().raw(insertRows + " RETURNING id").all(decoding: IDRow.self).map(\.id))
                let fresh = chunk.filter { inserted.contains($0.id) }
                guard !fresh.isEmpty else { continue }
                try await db.sql().raw(
                    """
                    INSERT INTO outbox_bodies (id, message)
                    SELECT * FROM unnest(\(bind: fresh.map(\.id))::uuid[], \(bind: fresh.map(\.message))::text[])
                    """
                ).run()
                written += fresh.count
            } else {
                // SQLite's driver hands returned rows over one by one through its event loop (without them, queueing
                // 100,000 took 9.1 s against 9.8): it is asked how many rows were new instead, and a body goes only
                // to a row that exists under its new id (a skipped row's id was never written).
                try await db.sql().raw(insertRows).run()
                written += try await db.sql().raw("SELECT changes() AS n").first(decoding: Count.self)?.n ?? 0
                let bodies = SQLList(
                    chunk.map { SQLGroupExpression([bind($0.id, postgres: false), SQLBind($0.message)]) })
                try await db.sql().raw(
                    """
                    INSERT INTO outbox_bodies (id, message)
                    SELECT v.column1, v.column2 FROM (VALUES \(bodies)) AS v
                    WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.id = v.column1)
                    """
                ).run()
            }
        }
        return written
    }

    /// An id as a value of a query: as text on SQLite, which stores ids as `uuidString` writes them, spelled by
    /// Vivier (the driver's own way goes through `Codable` and `sprintf`).
    static func bind(_ id: UUID, postgres: Bool) -> SQLBind {
        postgres ? SQLBind(id) : SQLBind(id.uppercasedString)
    }

    private struct Count: Decodable { var n: Int }

    private static func unescape(_ attribute: String) -> String {
        guard attribute.contains("&") else { return attribute }
        return attribute.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }

    private struct IDRow: Decodable { var id: UUID }

    /// What a campaign's template is merged with, for one person.
    func context(
        firstName: String, lastName: String, candidateID: UUID, unsubscribeURL: String, company: Company, job: Job?,
        segments: [String: Bool]
    ) -> [String: Any] {
        var context: [String: Any] = [
            "candidate": ["first_name": firstName, "last_name": lastName, "full_name": "\(firstName) \(lastName)"],
            "company": ["name": company.name],
            "preferences_url": preferencesURL(candidateID),
            "unsubscribe_url": unsubscribeURL,
            "segment": segments,
        ]
        if let job {
            context["job"] = [
                "title": job.title, "url": config.publicURL + SiteURL.job(job.slug), "location": job.location,
                "department": job.department,
            ]
        }
        return context
    }

    /// The campaign as `candidate` would read it (previews and test sends): their segments, their links.
    func render(_ campaign: Campaign, for candidate: Candidate) async throws -> MessageTemplate.Rendered {
        let language = Language(rawValue: candidate.language) ?? .fr
        let segments = try await Segment.query(on: db).all()
        let candidateID = try candidate.requireID()
        var membership: [String: Bool] = [:]
        for segment in CampaignContent.blocks(in: campaign.body(language), segments: segments) {
            let condition = try SegmentQuery(db: db, now: now).condition(segment.definition)
            membership[CampaignContent.key(segment)] =
                try await db.sql().raw(
                    "SELECT f.id FROM candidate_facts f WHERE \(condition) AND f.id = \(bind: candidateID)"
                ).all().count > 0
        }
        let template = MessageTemplate(subject: campaign.subject(language), body: campaign.bodyAsSent(language))
        return try template.render(
            context(
                firstName: candidate.firstName, lastName: candidate.lastName, candidateID: candidateID,
                unsubscribeURL: Newsletter.unsubscribeURL(candidateID: candidateID, config: config, now: now),
                company: try await Company.load(on: db), job: try await campaign.$job.get(on: db),
                segments: membership))
    }

    /// Who among `people` already has their row: by dedupe key, the unique index any campaign size reads fast.
    private func queued(_ campaignID: UUID, among people: [UUID], on db: any Database) async throws -> Set<UUID> {
        guard !people.isEmpty else { return [] }
        let keys = Dictionary(uniqueKeysWithValues: people.map { (Self.dedupeKey(campaignID, $0), $0) })
        return Set(
            try await OutboxMessage.query(on: db).filter(\.$dedupeKey ~~ Array(keys.keys)).all().compactMap {
                keys[$0.dedupeKey]
            })
    }

    static func dedupeKey(_ campaignID: UUID, _ candidateID: UUID) -> String {
        "campaign:\(campaignID.lowercasedString):\(candidateID.lowercasedString)"
    }

    /// `href` targets of a rendered body, unescaped, in order, once each.
    static func links(in html: String) -> [String] {
        var found: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "href=\"") {
            rest = rest[start.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { break }
            let url = unescape(String(rest[..<end]))
            if !found.contains(url) { found.append(url) }
            rest = rest[end...]
        }
        return found
    }

    /// Web links the author wrote are counted; the person's own links (preferences, unsubscribe) and mail links are not.
    static func tracked(_ url: String, config: AppConfig) -> Bool {
        (url.hasPrefix("https://") || url.hasPrefix("http://"))
            && !url.hasPrefix(config.publicURL + "/portal/") && !url.hasPrefix(config.publicURL + "/unsubscribe/")
    }

    func clickToken(_ outboxID: UUID, _ position: Int) -> String {
        SignedLink.make(
            ["c", outboxID.lowercasedString, String(position)], expires: now + Self.trackingLifetime,
            secret: config.secret)
    }

    func openToken(_ outboxID: UUID) -> String {
        SignedLink.make(
            ["o", outboxID.lowercasedString], expires: now + Self.trackingLifetime, secret: config.secret)
    }

    /// A signed way into the portal's preferences, valid 90 days: no database row per recipient.
    func preferencesURL(_ candidateID: UUID) -> String {
        config.publicURL
            + SiteURL.portalEntry(
                SignedLink.make(
                    ["enter", candidateID.lowercasedString], expires: now + 90 * 86_400, secret: config.secret))
            + "?to=preferences"
    }

    // MARK: - Sending controls

    /// Waiting messages stop being claimed; those already handed to a connection finish.
    func pause(_ campaign: Campaign) async throws {
        guard campaign.status == .sending || campaign.status == .scheduled else { return }
        try await db.transaction { db in
            campaign.status = .paused
            try await campaign.save(on: db)
            try await OutboxMessage.query(on: db).filter(\.$campaignID == campaign.requireID())
                .filter(\.$status ~~ [.pending, .retry]).set(\.$status, to: .held).update()
        }
    }

    /// Held messages wait again; what was sent stays sent.
    func resume(_ campaign: Campaign) async throws {
        guard campaign.status == .paused else { return }
        try await db.transaction { db in
            campaign.status = .sending
            try await campaign.save(on: db)
            try await OutboxMessage.query(on: db).filter(\.$campaignID == campaign.requireID())
                .filter(\.$status == .held).set(\.$status, to: .pending).update()
        }
    }

    func cancel(_ campaign: Campaign) async throws {
        guard [.scheduled, .sending, .paused].contains(campaign.status) else { return }
        try await db.transaction { db in
            campaign.status = .cancelled
            campaign.finishedAt = now
            try await campaign.save(on: db)
            try await OutboxMessage.query(on: db).filter(\.$campaignID == campaign.requireID())
                .filter(\.$status ~~ [.pending, .retry, .held]).set(\.$status, to: .cancelled)
                .set(\.$lastReply, to: "campaign cancelled").update()
        }
    }

    /// Marks a sending campaign finished once every recipient is queued and nothing is waiting or being sent.
    func finishIfDone(_ campaign: Campaign) async throws {
        guard campaign.status == .sending, campaign.enqueuedAt != nil else { return }
        let open = try await OutboxMessage.query(on: db).filter(\.$campaignID == campaign.requireID())
            .filter(\.$status ~~ [.pending, .claimed, .inFlight, .retry, .held]).count()
        if open == 0 {
            campaign.status = .finished
            campaign.finishedAt = now
            try await campaign.save(on: db)
        }
    }

    // MARK: - Progress and report

    struct Progress: Content, Equatable {
        var sent = 0
        var pending = 0
        var failed = 0
        var suppressed = 0
        var cancelled = 0
        var total: Int { sent + pending + failed + suppressed + cancelled }
    }

    func progress(_ campaignID: UUID) async throws -> Progress {
        try await Self.progress(campaignID, on: db)
    }

    static func progress(_ campaignID: UUID, on db: any Database) async throws -> Progress {
        try await progress(of: [campaignID], on: db)[campaignID] ?? Progress()
    }

    /// The progress of several campaigns in one query (the campaign list, a newsletter's issues).
    static func progress(of campaignIDs: [UUID], on db: any Database) async throws -> [UUID: Progress] {
        guard !campaignIDs.isEmpty else { return [:] }
        struct Row: Decodable {
            var campaign_id: UUID
            var status: String
            var n: Int
        }
        var progress: [UUID: Progress] = [:]
        for row in try await db.sql().raw(
            """
            SELECT campaign_id, status, COUNT(*) AS n FROM outbox
            WHERE campaign_id IN (\(SQLList(campaignIDs.map { SQLBind($0) }))) GROUP BY campaign_id, status
            """
        ).all(decoding: Row.self) {
            var current = progress[row.campaign_id] ?? Progress()
            switch OutboxMessage.Status(rawValue: row.status) {
            case .sent: current.sent += row.n
            case .pending, .claimed, .inFlight, .retry, .held: current.pending += row.n
            case .failed, .inDoubt: current.failed += row.n
            case .suppressed: current.suppressed += row.n
            case .cancelled, nil: current.cancelled += row.n
            }
            progress[row.campaign_id] = current
        }
        return progress
    }
}

extension CampaignSender {
    /// Starts every scheduled campaign whose time has come (each claimed by one instance only), resumes queueings
    /// that stopped half-way (a crash, a restart) and closes campaigns with nothing left to send.
    static func runDue(app: Application, now: Date) async throws -> Int {
        let db = app.db
        let sender = CampaignSender(db: db, config: app.config, now: now)
        struct Row: Decodable { var id: UUID }
        let started = try await db.sql().raw(
            """
            UPDATE campaigns SET status = 'sending', started_at = \(bind: now), updated_at = \(bind: now)
            WHERE status = 'scheduled' AND scheduled_at <= \(bind: now) RETURNING id
            """
        ).all(decoding: Row.self).map(\.id)
        let stalled = try await Campaign.query(on: db).filter(\.$status ~~ [.sending, .paused])
            .filter(\.$enqueuedAt == nil).filter(\.$updatedAt < now - 300).all().compactMap(\.id)
        var queued = 0
        for id in started + stalled {
            guard let campaign = try await Campaign.find(id, on: db) else { continue }
            queued += try await sender.enqueue(campaign)
        }
        app.metrics.campaignQueued(queued)
        for campaign in try await Campaign.query(on: db).filter(\.$status == .sending).filter(\.$enqueuedAt != nil)
            .all()
        {
            try await sender.finishIfDone(campaign)
        }
        return queued
    }

    /// At the start of each month, the digest of last month's issues of each series that offers one, for the
    /// subscribers who chose it. Idempotent: the series remembers the last month it digested.
    static func monthlyDigests(app: Application, now: Date, timeZone: TimeZone) async throws -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        guard let monthStart = calendar.dateInterval(of: .month, for: now)?.start,
            let previous = calendar.date(byAdding: .month, value: -1, to: monthStart)
        else { return 0 }
        let month = String(
            format: "%04d-%02d", calendar.component(.year, from: previous), calendar.component(.month, from: previous))
        var created = 0
        for series in try await NewsletterSeries.query(on: app.db).filter(\.$offersDigest == true).all()
        where series.lastDigestMonth != month {
            let issues = try await Campaign.query(on: app.db).filter(\.$series.$id == series.requireID())
                .filter(\.$kind == .newsletter).filter(\.$status ~~ [.sending, .finished])
                .filter(\.$startedAt >= previous).filter(\.$startedAt < monthStart).sort(\.$startedAt).all()
            created += try await app.db.transaction { db -> Int in
                series.lastDigestMonth = month
                try await series.save(on: db)
                guard !issues.isEmpty else { return 0 }
                let digest = Campaign(name: "\(series.name) — \(month)", kind: .digest, purpose: .newsletter, at: now)
                digest.$series.id = series.id
                digest.$segment.id = series.$segment.id
                digest.trackOpens = issues.contains(where: \.trackOpens)
                let label = Dates.monthYear(previous, .fr, timeZone: timeZone)
                let labelEN = Dates.monthYear(previous, .en, timeZone: timeZone)
                digest.subjectFR = "\(series.name) — l'essentiel de \(label)"
                digest.subjectEN = "\(series.name) — \(labelEN) in one email"
                digest.bodyFR = issues.map { "## \($0.subjectFR)\n\n\($0.bodyFR)" }.joined(separator: "\n\n---\n\n")
                digest.bodyEN = issues.map { "## \($0.subjectEN)\n\n\($0.bodyEN)" }.joined(separator: "\n\n---\n\n")
                digest.status = .scheduled
                digest.scheduledAt = now
                try await digest.create(on: db)
                return 1
            }
        }
        return created
    }
}

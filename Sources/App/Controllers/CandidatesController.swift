import Fluent
import SQLKit
import Vapor
import VivierCore
import VivierMail

/// The candidate list with search and filters, and each candidate's page: applications, timeline, notes, tags, CV.
struct CandidatesController {
    static let pageSize = 50

    struct Row: Encodable {
        var name: String
        var email: String
        var url: String
        var applications: String
        var updated: String
        var tags: [String]
    }

    struct ListContent: Encodable {
        var rows: [Row]
        var q: String
        /// The same list as CSV, for those who may export.
        var exportURL: String?
        var jobs: [Choice]
        var outcomes: [Choice]
        var tags: [Choice]
        var total: Int
        var page: Int
        var pages: Int
        var previousURL: String?
        var nextURL: String?
        var filtered: Bool
    }

    @Sendable func list(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let filters = Filters(req)
        let page = max(1, req.query[Int.self, at: "page"] ?? 1)
        let (query, ranking) = try await filteredQuery(filters, access: access, req)
        let (q, jobFilter, outcome, tagFilter) = (filters.q, filters.job, filters.outcome, filters.tag)
        let total = try await query.count()
        let pages = max(1, (total + Self.pageSize - 1) / Self.pageSize)
        let candidates: [Candidate]
        if let ranking {
            // Search results keep the engine's relevance order; pagination happens on that order.
            let found = Dictionary(uniqueKeysWithValues: try await query.all().compactMap { c in c.id.map { ($0, c) } })
            candidates = Array(
                ranking.compactMap { found[$0] }.dropFirst((page - 1) * Self.pageSize).prefix(Self.pageSize))
        } else {
            candidates = try await query.sort(\.$updatedAt, .descending).range(
                ((page - 1) * Self.pageSize)..<(page * Self.pageSize)
            ).all()
        }
        let ids = candidates.compactMap(\.id)
        let (applications, tagNames) = try await sideData(of: ids, access: access, req)
        let titles = applications.mapValues { $0.map(\.title) }
        let rows = try candidates.map { candidate in
            let id = try candidate.requireID()
            return Row(
                name: candidate.fullName, email: candidate.email, url: SiteURL.candidate(id),
                applications: (titles[id] ?? []).joined(separator: ", "),
                updated: Dates.day(candidate.updatedAt ?? req.now, req.language), tags: (tagNames[id] ?? []).sorted())
        }
        var jobsQuery = Job.query(on: req.db).sort(\.$title)
        if let visible = access.jobIDs { jobsQuery = jobsQuery.filter(\.$id ~~ Array(visible)) }
        let jobs = try await jobsQuery.all()
        let allTags = try await Tag.query(on: req.db).sort(\.$name).all()
        func pageURL(_ number: Int) -> String { filters.url(SiteURL.candidates, page: number) }
        let content = ListContent(
            rows: rows, q: q,
            exportURL: access.user.canManage ? filters.url(SiteURL.candidatesCSV) : nil,
            jobs: try jobs.map {
                .init(value: try $0.requireID().lowercasedString, label: $0.title, selected: $0.id == jobFilter)
            },
            outcomes: ["active", "hired", "rejected", "withdrawn", "closed"].map {
                .init(value: $0, label: req.t("outcome.\($0)"), selected: $0 == outcome)
            },
            tags: allTags.map { .init(value: $0.name, label: $0.name, selected: $0.name == tagFilter) },
            total: total, page: page, pages: pages, previousURL: page > 1 ? pageURL(page - 1) : nil,
            nextURL: page < pages ? pageURL(page + 1) : nil,
            filtered: !q.isEmpty || jobFilter != nil || !outcome.isEmpty || !tagFilter.isEmpty)
        return try await req.page("app/candidates", title: req.t("candidates.title"), content)
    }

    /// The list's filters, as the query string gives them (the page, its CSV export).
    struct Filters {
        var q: String
        var job: UUID?
        var outcome: String
        var tag: String

        init(_ req: Request) {
            q = (req.query[String.self, at: "q"] ?? "").trimmed
            job = req.query[String.self, at: "job"].flatMap(UUID.init(uuidString:))
            outcome = req.query[String.self, at: "outcome"] ?? ""
            tag = req.query[String.self, at: "tag"] ?? ""
        }

        var query: [(String, String)] {
            [("q", q), ("job", job?.lowercasedString ?? ""), ("outcome", outcome), ("tag", tag)]
                .filter { !$0.1.isEmpty }
        }

        /// `path` with these filters (and a page) in its query string.
        func url(_ path: String, page: Int? = nil) -> String {
            var components = URLComponents()
            components.path = path
            let items = query + (page.map { [("page", String($0))] } ?? [])
            components.queryItems = items.isEmpty ? nil : items.map { URLQueryItem(name: $0.0, value: $0.1) }
            return components.string ?? path
        }
    }

    /// The list as its filters select it (all pages), as CSV: RFC 4180, formula-looking cells neutralised, the
    /// filters in the file name. Recruiters and admins only; recorded in the audit log.
    @Sendable func exportCSV(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let filters = Filters(req)
        let (query, ranking) = try await filteredQuery(filters, access: access, req)
        var people = try await query.sort(\.$updatedAt, .descending).all()
        if let ranking {
            let position = Dictionary(uniqueKeysWithValues: ranking.enumerated().map { ($1, $0) })
            people.sort { (position[$0.id ?? UUID()] ?? .max) < (position[$1.id ?? UUID()] ?? .max) }
        }
        var applications: [UUID: [String]] = [:], tags: [UUID: [String]] = [:], consents: [UUID: [String]] = [:]
        // In chunks: one IN list per 500 people keeps under every engine's limit on bound values.
        for start in stride(from: 0, to: people.count, by: 500) {
            let ids = people[start..<min(start + 500, people.count)].compactMap(\.id)
            let (chunkApplications, chunkTags) = try await sideData(of: ids, access: access, req)
            for (id, list) in chunkApplications {
                applications[id] = list.map { "\($0.title) (\(req.t("outcome.\($0.outcome)")))" }
            }
            tags.merge(chunkTags) { $1 }
            for state in try await ConsentState.query(on: req.db).filter(\.$candidate.$id ~~ ids)
                .filter(\.$action ~~ [.granted, .confirmed, .renewed]).filter(\.$series == "").all()
            {
                consents[state.$candidate.id, default: []].append(req.t("consent.\(state.purpose.rawValue)"))
            }
        }
        let headers = [
            req.t("apply.first_name"), req.t("apply.last_name"), req.t("apply.email"), req.t("apply.phone"),
            req.t("candidate.language"), req.t("export.location"), req.t("candidate.since"),
            req.t("export.last_active_contact"), req.t("candidates.applications"), req.t("candidate.tags"),
            req.t("candidate.consents"),
        ]
        let rows = people.map { person -> [String] in
            let id = person.id ?? UUID()
            return [
                person.firstName, person.lastName, person.email, person.phone, person.language, person.location,
                person.createdAt.map(Dates.iso8601Day) ?? "", person.lastActiveContactAt.map(Dates.iso8601Day) ?? "",
                (applications[id] ?? []).joined(separator: "; "), (tags[id] ?? []).sorted().joined(separator: "; "),
                (consents[id] ?? []).sorted().joined(separator: "; "),
            ]
        }
        let described = filters.query.map { "\($0.0)-\($0.1)" }.joined(separator: "_")
        try await req.audit(
            .candidatesExported, target: "candidates",
            detail: "\(rows.count) people" + (described.isEmpty ? "" : ", \(described)"))
        return CSV.response(
            headers: headers, rows: rows,
            filename: "candidates\(described.isEmpty ? "" : "_" + described)_\(Dates.iso8601Day(req.now)).csv")
    }

    /// For the people `ids`: their applications (job title, outcome) among the jobs this user may see, and their
    /// tags. Plain rows rather than models: decoding Fluent models is most of the list page's cost.
    private func sideData(of ids: [UUID], access: Access, _ req: Request) async throws
        -> (applications: [UUID: [(title: String, outcome: String)]], tags: [UUID: [String]])
    {
        struct ApplicationRow: Decodable {
            var candidate_id: UUID
            var title: String?
            var outcome: String
        }
        struct TagRow: Decodable {
            var candidate_id: UUID
            var name: String
        }
        var applications: [UUID: [(title: String, outcome: String)]] = [:], tags: [UUID: [String]] = [:]
        guard !ids.isEmpty else { return (applications, tags) }
        let sql = req.db.sql()
        var applicationsQuery = sql.select().column(SQLColumn("candidate_id", table: JobApplication.schema))
            .column(SQLColumn("title", table: Job.schema)).column(SQLColumn("outcome", table: JobApplication.schema))
            .from(JobApplication.schema)
            .join(
                Job.schema, method: SQLJoinMethod.left, on: SQLColumn("job_id", table: JobApplication.schema),
                .equal, SQLColumn("id", table: Job.schema)
            )
            .where(SQLColumn("candidate_id", table: JobApplication.schema), .in, Self.list(ids))
        if let visible = access.jobIDs {
            applicationsQuery =
                visible.isEmpty
                ? applicationsQuery.where(SQLLiteral.boolean(false))
                : applicationsQuery.where(
                    SQLColumn("job_id", table: JobApplication.schema), .in, Self.list(Array(visible)))
        }
        for row in try await applicationsQuery.all(decoding: ApplicationRow.self) {
            applications[row.candidate_id, default: []].append(
                (row.title ?? req.t("candidate.spontaneous"), row.outcome))
        }
        let tagQuery = sql.select().column(SQLColumn("candidate_id", table: CandidateTag.schema))
            .column(SQLColumn("name", table: Tag.schema)).from(CandidateTag.schema)
            .join(
                Tag.schema, on: SQLColumn("tag_id", table: CandidateTag.schema), .equal,
                SQLColumn("id", table: Tag.schema)
            )
            .where(SQLColumn("candidate_id", table: CandidateTag.schema), .in, Self.list(ids))
        for row in try await tagQuery.all(decoding: TagRow.self) {
            tags[row.candidate_id, default: []].append(row.name)
        }
        return (applications, tags)
    }

    /// The people the filters select among those this user may see, and the search's ranking when there is one.
    private func filteredQuery(_ filters: Filters, access: Access, _ req: Request) async throws
        -> (QueryBuilder<Candidate>, [UUID]?)
    {
        let (q, jobFilter, outcome, tagFilter) = (filters.q, filters.job, filters.outcome, filters.tag)

        var query = Candidate.query(on: req.db).filter(\.$mergedInto.$id == nil).filter(\.$erasedAt == nil)
        var ranking: [UUID]?
        if !q.isEmpty {
            let hits = try await SearchIndex.search(q, on: req.db)
            ranking = hits
            query = query.filter(\.$id ~~ hits)
        }
        // Application-based filters, restricted to the jobs this user may see, as subqueries: a list of ids would
        // hit PostgreSQL's bind limit on a large pool.
        if jobFilter != nil || !outcome.isEmpty || access.jobIDs != nil {
            let outcomes: [ApplicationOutcome]? =
                switch outcome {
                case "closed": [.rejected, .withdrawn]
                default: ApplicationOutcome(rawValue: outcome).map { [$0] }
                }
            let applicants = SQLSubquery.select { sub in
                var sub = sub.column("candidate_id").from(JobApplication.schema)
                if let jobFilter { sub = sub.where("job_id", .equal, jobFilter) }
                if let ids = access.jobIDs {
                    // An empty IN () is a syntax error on PostgreSQL: no job means no applicant.
                    sub = ids.isEmpty ? sub.where(SQLLiteral.boolean(false)) : sub.where("job_id", .in, Array(ids))
                }
                if let outcomes { sub = sub.where("outcome", .in, outcomes.map(\.rawValue)) }
                return sub
            }
            query = query.filter(
                .custom(SQLBinaryExpression(SQLColumn("id", table: Candidate.schema), .in, applicants)))
        }
        if !tagFilter.isEmpty {
            let tagged = SQLSubquery.select { sub in
                sub.column("candidate_id").from(CandidateTag.schema)
                    .join(
                        Tag.schema, on: SQLColumn("id", table: Tag.schema), .equal,
                        SQLColumn("tag_id", table: CandidateTag.schema)
                    )
                    .where(SQLColumn("name", table: Tag.schema), .equal, SQLBind(tagFilter))
            }
            query = query.filter(.custom(SQLBinaryExpression(SQLColumn("id", table: Candidate.schema), .in, tagged)))
        }
        return (query, ranking)
    }

    /// `(?, ?, ...)` for an IN clause.
    static func list(_ ids: [UUID]) -> some SQLExpression { SQLGroupExpression(SQLList(ids.map { SQLBind($0) })) }

    // MARK: - Candidate page

    struct ApplicationView: Encodable {
        var id: String
        var job: String
        var boardURL: String?
        var stage: String
        var outcome: String
        var outcomeKey: String
        var reason: String?
        var applied: String
        var source: String
        var coverLetter: String
        var stages: [PipelineController.StageOption]
        var currentStageID: String
        var isActive: Bool
        var isClosed: Bool
        var action: String
        /// "Réponse promise avant le 7 décembre (5 jours ouvrés)", with whether that date has passed unanswered.
        var promise: String?
        var promiseLate: Bool
        var interviews: [InterviewView]
    }

    struct InterviewView: Encodable {
        var id: String
        var when: String
        var place: String
        var status: String
        var isScheduled: Bool
        /// Past and still scheduled: the recruiter may record that the candidate did not come.
        var canMarkNoShow: Bool
    }

    struct MessageView: Encodable {
        var subject: String
        var kind: String
        var status: String
        var statusKey: String
        var when: String
    }

    struct DocumentView: Encodable {
        var name: String
        var url: String
        var size: String
        var added: String
    }

    struct Event: Encodable {
        var when: String
        var kind: String
        var text: String
        var actor: String
    }

    struct NoteView: Encodable {
        var body: String
        var author: String
        var when: String
    }

    struct ConsentView: Encodable {
        var purpose: String
        var state: String
        var granted: Bool
    }

    struct TagView: Encodable {
        var name: String
        var removeURL: String
    }

    struct ShowContent: Encodable {
        var id: String
        var name: String
        var email: String
        var phone: String
        var language: String
        var created: String
        var applications: [ApplicationView]
        var documents: [DocumentView]
        var documentCount: Int
        /// The candidate asked from the portal to be erased: shown until an admin acts.
        var erasureRequested: Bool
        var timeline: [Event]
        var notes: [NoteView]
        var tags: [TagView]
        /// Partners the CV may be forwarded to, offered only with the candidate's partner-sharing consent.
        var partners: [Choice]
        var canForward: Bool
        /// A text can be sent: a provider is configured, the number is valid and the candidate agreed.
        var canText: Bool
        var consents: [ConsentView]
        var messages: [MessageView]
        var hasMessages: Bool
        var rejectionReasons: [Choice]
        var rejectionDelays: [Choice]
        var timeZones: [Choice]
        var durations: [Choice]
        var canManage: Bool
        var url: String
    }

    @Sendable func show(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let id = try candidate.requireID()
        // An erased person is gone from the recruiters' screens; the indicators still count their history.
        guard candidate.erasedAt == nil else { throw Abort(.notFound) }
        var applicationsQuery = JobApplication.query(on: req.db).filter(\.$candidate.$id == id).with(\.$job).with(
            \.$stage
        ).sort(\.$createdAt, .descending)
        if let visible = access.jobIDs { applicationsQuery = applicationsQuery.filter(\.$job.$id ~~ Array(visible)) }
        let applications = try await applicationsQuery.all()
        var views: [ApplicationView] = []
        for application in applications {
            let applicationID = try application.requireID()
            let interviews = try await Interview.query(on: req.db).filter(\.$application.$id == applicationID).sort(
                \.$startsAt
            ).all()
            var stages: [Stage] = []
            if let jobID = application.$job.id {
                stages = try await Stage.query(on: req.db).filter(\.$job.$id == jobID).sort(\.$position).all()
            }
            views.append(
                ApplicationView(
                    id: applicationID.lowercasedString,
                    job: application.job?.title ?? req.t("candidate.spontaneous"),
                    boardURL: application.$job.id.map(SiteURL.board),
                    stage: application.stage?.name(in: req.language) ?? "—",
                    outcome: req.t("outcome.\(application.outcome.rawValue)"), outcomeKey: application.outcome.rawValue,
                    reason: application.closingReason.map { req.t("reason.\($0)") },
                    applied: Dates.day(application.createdAt ?? req.now, req.language),
                    source: req.t("source.\(application.source.rawValue)")
                        + (application.sourceDetail.isEmpty ? "" : " (\(application.sourceDetail))"),
                    coverLetter: application.coverLetter,
                    stages: try stages.map {
                        .init(id: try $0.requireID().lowercasedString, name: $0.name(in: req.language))
                    },
                    currentStageID: application.$stage.id?.lowercasedString ?? "",
                    isActive: application.outcome == .active || application.outcome == .hired,
                    isClosed: application.outcome == .rejected || application.outcome == .withdrawn,
                    action: SiteURL.application(applicationID),
                    promise: application.promisedBy.map {
                        req.t("candidate.promise").replacingOccurrences(of: "{date}", with: Dates.day($0, req.language))
                            .replacingOccurrences(of: "{days}", with: String(application.promisedWorkingDays ?? 0))
                    },
                    promiseLate: application.promisedBy.map {
                        $0 < req.now && application.outcome == .active && application.stage?.kind == .new
                    }
                        ?? false,
                    interviews: try interviews.map { interview in
                        InterviewView(
                            id: try interview.requireID().lowercasedString,
                            when: Dates.dayTime(interview.startsAt, req.language) + " (\(interview.timeZone))",
                            place: [interview.location, interview.videoURL].filter { !$0.isEmpty }.joined(
                                separator: " · "),
                            status: req.t("interview.status.\(interview.status.rawValue)"),
                            isScheduled: interview.status == .scheduled,
                            canMarkNoShow: interview.status == .scheduled && interview.startsAt < req.now)
                    }))
        }
        let visibleApplicationIDs = Set(applications.compactMap(\.id))
        let documents = try await Document.query(on: req.db).filter(\.$candidate.$id == id).sort(
            \.$createdAt, .descending
        ).all()
            .filter { access.jobIDs == nil || $0.$application.id.map(visibleApplicationIDs.contains) == true }
        let interactions = try await Interaction.query(on: req.db).filter(\.$candidate.$id == id).with(\.$actor).sort(
            \.$createdAt, .descending
        ).range(..<200).all()
            .filter { access.jobIDs == nil || $0.$application.id.map(visibleApplicationIDs.contains) ?? true }
        let notes = try await Note.query(on: req.db).filter(\.$candidate.$id == id).with(\.$author).sort(
            \.$createdAt, .descending
        ).all()
        let tags = try await CandidateTag.query(on: req.db).filter(\.$candidate.$id == id).with(\.$tag).all()
        let consentState = try await ConsentLedger.state(of: id, on: req.db)
        let messages = try await OutboxMessage.query(on: req.db).filter(\.$candidate.$id == id).sort(
            \.$createdAt, .descending
        ).range(..<50).all()
        let content = ShowContent(
            id: id.lowercasedString, name: candidate.fullName, email: candidate.email, phone: candidate.phone,
            language: req.t("language.\(candidate.language)"),
            created: Dates.day(candidate.createdAt ?? req.now, req.language),
            applications: views,
            documents: try documents.map {
                DocumentView(
                    name: $0.originalName, url: SiteURL.document(try $0.requireID()),
                    size: Dates.fileSize($0.size, req.language),
                    added: Dates.day($0.createdAt ?? req.now, req.language))
            },
            documentCount: documents.count,
            erasureRequested: interactions.contains { $0.kind == .erasureRequested },
            timeline: interactions.map {
                Event(
                    when: Dates.dayTime($0.createdAt, req.language), kind: req.t("timeline.\($0.kind.rawValue)"),
                    text: describe($0, req), actor: $0.actor?.name ?? "")
            },
            notes: notes.map {
                NoteView(body: $0.body, author: $0.author?.name ?? "—", when: Dates.dayTime($0.createdAt, req.language))
            },
            tags: try tags.map {
                TagView(
                    name: $0.tag.name,
                    removeURL: SiteURL.candidate(id) + "/tags/\(try $0.tag.requireID().lowercasedString)/delete")
            }.sorted { $0.name < $1.name },
            partners: try await Partner.query(on: req.db).filter(\.$active == true).sort(\.$company).all().map {
                Choice(
                    value: $0.id?.lowercasedString ?? "", label: "\($0.company) — \($0.name)", selected: false)
            },
            canForward: access.user.canManage && consentState[.partnerSharing] == true,
            canText: req.application.config.sms != nil && SMS.e164(candidate.phone) != nil
                && consentState[.smsReminders] == true,
            consents: ConsentPurpose.allCases.map { purpose in
                let granted = consentState[purpose] ?? false
                return ConsentView(
                    purpose: req.t("consent.\(purpose.rawValue)"),
                    state: req.t(granted ? "consent.state.granted" : "consent.state.none"), granted: granted)
            },
            messages: messages.map {
                MessageView(
                    subject: MailReader.decodeWords($0.subject), kind: req.t("message.kind.\($0.kind)"),
                    status: req.t("outbox.status.\($0.status.rawValue)"), statusKey: $0.status.rawValue,
                    when: Dates.dayTime($0.sentAt ?? $0.createdAt ?? req.now, req.language))
            },
            hasMessages: !messages.isEmpty,
            rejectionReasons: ClosingReason.rejection.map {
                .init(value: $0.rawValue, label: req.t("reason.\($0.rawValue)"), selected: false)
            },
            rejectionDelays: PipelineController.rejectionDelays.map {
                Choice(value: String($0), label: req.t("reject.delay_\($0)"), selected: $0 == 0)
            },
            timeZones: InterviewController.timeZones.map {
                Choice(value: $0, label: $0, selected: $0 == "Europe/Paris")
            },
            durations: InterviewController.durations.map {
                Choice(value: String($0), label: "\($0)", selected: $0 == 60)
            },
            canManage: access.user.canManage, url: SiteURL.candidate(id))
        return try await req.page("app/candidate", title: candidate.fullName, content)
    }

    private func describe(_ interaction: Interaction, _ req: Request) -> String {
        switch interaction.kind {
        case .rejected, .withdrawn: req.t("reason.\(interaction.detail)")
        case .consent:
            interaction.detail.split(separator: ":").count == 2
                ? "\(req.t("consent.\(interaction.detail.split(separator: ":")[0])")) — \(req.t("consent.action.\(interaction.detail.split(separator: ":")[1])"))"
                : interaction.detail
        case .applied where interaction.detail == "spontaneous": req.t("candidate.spontaneous")
        default: interaction.detail
        }
    }

    // MARK: - Notes, tags, merge

    struct NoteForm: Content {
        var body: String?
    }

    @Sendable func addNote(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let body = (try req.content.decode(NoteForm.self).body ?? "").trimmed
        let id = try candidate.requireID()
        guard !body.isEmpty, body.count <= 10_000 else {
            return req.redirect(
                to: SiteURL.candidate(id), flash: body.isEmpty ? "flash.note_empty" : "error.too_long", kind: .error)
        }
        try await req.db.transaction { db in
            try await Note(candidateID: id, authorID: access.user.id, body: body, at: req.now).create(on: db)
            try await Interaction(
                candidateID: id, applicationID: nil, actorID: access.user.id, kind: .note,
                detail: String(body.prefix(140)), at: req.now
            ).create(on: db)
        }
        try await SearchIndex.refresh(candidateID: id, on: req.db)
        return req.redirect(to: SiteURL.candidate(id), flash: "flash.note_added")
    }

    struct TagForm: Content {
        var name: String?
    }

    @Sendable func addTag(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let id = try candidate.requireID()
        let name = String(
            (try req.content.decode(TagForm.self).name ?? "").trimmed.lowercased().filter { !$0.isNewline }.prefix(40))
        guard !name.isEmpty else {
            return req.redirect(to: SiteURL.candidate(id), flash: "flash.tag_empty", kind: .error)
        }
        try await Self.tag(id, with: name, by: access.user, on: req.db, now: req.now)
        return req.redirect(to: SiteURL.candidate(id), flash: "flash.tag_added")
    }

    /// Tags a person (once; the tag is created the first time its name is used) and notes it on the timeline, then
    /// refreshes the search index.
    static func tag(_ id: UUID, with name: String, by user: User?, on db: any Database, now: Date) async throws {
        try await db.writeTransaction { db in
            var tag = try await Tag.query(on: db).filter(\.$name == name).first()
            if tag == nil {
                tag = Tag(name: name)
                try await tag!.create(on: db)
            }
            guard let tag else { return }
            let tagID = try tag.requireID()
            guard
                try await CandidateTag.query(on: db).filter(\.$candidate.$id == id).filter(\.$tag.$id == tagID).count()
                    == 0
            else { return }
            try await CandidateTag(candidateID: id, tagID: tagID).create(on: db)
            try await Interaction(
                candidateID: id, applicationID: nil, actorID: user?.id, kind: .tagAdded, detail: name, at: now
            ).create(on: db)
        }
        try await SearchIndex.refresh(candidateID: id, on: db)
    }

    @Sendable func removeTag(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let id = try candidate.requireID()
        guard let tagID = req.uuidParameter("tagID"), let tag = try await Tag.find(tagID, on: req.db) else {
            throw Abort(.notFound)
        }
        try await req.db.transaction { db in
            try await CandidateTag.query(on: db).filter(\.$candidate.$id == id).filter(\.$tag.$id == tagID).delete()
            try await Interaction(
                candidateID: id, applicationID: nil, actorID: access.user.id, kind: .tagRemoved, detail: tag.name,
                at: req.now
            ).create(on: db)
        }
        try await SearchIndex.refresh(candidateID: id, on: req.db)
        return req.redirect(to: SiteURL.candidate(id), flash: "flash.tag_removed")
    }

    struct MergeForm: Content {
        var email: String?
    }

    /// Merges another record of the same person (another address) into this one.
    @Sendable func merge(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let target = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let targetID = try target.requireID()
        let email = EmailAddress.normalize(try req.content.decode(MergeForm.self).email ?? "")
        guard
            let source = try await Candidate.query(on: req.db).filter(\.$email == email).filter(
                \.$mergedInto.$id == nil
            ).first(),
            let sourceID = source.id, sourceID != targetID
        else { return req.redirect(to: SiteURL.candidate(targetID), flash: "flash.merge_not_found", kind: .error) }
        try await Merge.run(from: sourceID, into: targetID, actorID: access.user.id, now: req.now, on: req.db)
        return req.redirect(to: SiteURL.candidate(targetID), flash: "flash.merged")
    }

    // MARK: - Rights of the person

    /// Everything held about the person, as the portal gives it to them (GDPR art. 15 and 20), for a request that
    /// came by post or by email; recorded on the timeline.
    @Sendable func export(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let id = try candidate.requireID()
        guard candidate.erasedAt == nil else { throw Abort(.notFound) }
        let zip = try await PersonalData.archive(of: id, db: req.db, blobs: req.application.blobs, now: req.now)
        try await Interaction(
            candidateID: id, applicationID: nil, actorID: access.user.id, kind: .exported, detail: "", at: req.now
        ).create(on: req.db)
        try await req.audit(.candidateExported, target: "candidate:\(id.lowercasedString)")
        return PersonalData.download(zip, name: "vivier-\(id.lowercasedString.prefix(8)).zip")
    }

    /// Erasure by an admin (a request by post, by email, or left in the portal before it erased at once).
    @Sendable func erase(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        try await PersonalData.erase(
            try candidate.requireID(), actor: access.user.id, channel: .recruiter, app: req.application, db: req.db,
            now: req.now)
        try await req.audit(.candidateErased, target: "candidate:\(try candidate.requireID().lowercasedString)")
        return req.redirect(to: SiteURL.candidates, flash: "flash.erased")
    }

    // MARK: - Files

    /// The CV, through an access check and always as a download (ASVS 3.2.1, 5.4.2): never rendered inline.
    @Sendable func document(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        guard let id = req.uuidParameter("id"), let document = try await Document.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        _ = try await access.candidate(document.$candidate.id, on: req.db)
        if access.jobIDs != nil {
            guard let applicationID = document.$application.id else { throw Abort(.notFound) }
            _ = try await access.application(applicationID, on: req.db)
        }
        let bytes = try req.application.blobs.get(document.storageKey)
        try await req.audit(
            .cvDownloaded, target: "document:\(id.lowercasedString)",
            detail: "candidate:\(document.$candidate.id.lowercasedString)")
        let response = Response(status: .ok, body: .init(data: Data(bytes)))
        response.headers.contentType = HTTPMediaType(
            type: "application", subType: String(document.kind.mediaType.dropFirst("application/".count)))
        response.headers.replaceOrAdd(name: .contentDisposition, value: Self.attachment(document.originalName))
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: "sandbox; default-src 'none'")
        response.headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return response
    }

    /// `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name per RFC 6266 / RFC 8187.
    static func attachment(_ name: String) -> String {
        let ascii = String(
            name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" }
        )
        let allowed = CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "cv"
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}

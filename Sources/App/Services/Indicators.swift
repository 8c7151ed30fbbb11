import Fluent
import Foundation
import SQLKit

/// The indicators of the dashboard, each computed by the database (SQLite or PostgreSQL) over the applications
/// received in a period, within a scope. Durations are seconds computed in SQL; medians and 90th percentiles are
/// the nearest-rank element of the sorted durations, also picked by the database.
struct Indicators {
    let db: any Database
    let period: Period
    let scope: Scope
    let now: Date

    struct Period: Sendable, Equatable {
        var start: Date
        var end: Date

        /// The period of the same length just before, for trends.
        var previous: Period { Period(start: start - (end.timeIntervalSince(start)), end: start) }
    }

    /// Whose applications: the company's, a department's, a job's, or those of the jobs a user is assigned to.
    enum Scope: Sendable, Equatable {
        case company
        case department(String)
        case job(UUID)
        case jobs([UUID])
    }

    var sql: any SQLDatabase { db.sql() }

    /// `to - from` in seconds, in the engine's dialect (SQLite keeps dates as seconds since 1970).
    static func seconds(from: String, to: String, postgres: Bool) -> String {
        postgres ? "EXTRACT(EPOCH FROM (\(to) - \(from)))" : "(\(to) - \(from))"
    }

    func seconds(_ from: String, _ to: String) -> SQLQueryString {
        "\(unsafeRaw: Self.seconds(from: from, to: to, postgres: db.isPostgres))"
    }

    /// The applications of the period and scope: a condition on `applications a`. Every figure about them reads
    /// the facts the database keeps on each application (`UpdateApplicationsAddFacts`) from one index.
    var inPeriod: SQLQueryString {
        "a.created_at >= \(bind: period.start) AND a.created_at < \(bind: period.end)\(scopeFilter(jobColumn: "a.job_id"))"
    }

    /// `applications a`, read from the facts index. SQLite's planner prefers the narrower date index, then reads a
    /// million rows of the table one by one (five times slower than the covering index), so it is told.
    var facts: SQLQueryString {
        db.isPostgres ? "applications a" : "applications a INDEXED BY applications_facts"
    }

    /// ` AND …` restricting rows whose job is `jobColumn` to the scope (nothing for the company).
    func scopeFilter(jobColumn: String) -> SQLQueryString {
        switch scope {
        case .company: ""
        case .department(let name):
            " AND \(unsafeRaw: jobColumn) IN (SELECT id FROM jobs WHERE department = \(bind: name))"
        case .job(let id): " AND \(unsafeRaw: jobColumn) = \(bind: id)"
        case .jobs(let ids): ids.isEmpty ? " AND 1 = 0" : " AND \(unsafeRaw: jobColumn) IN (\(binds: ids))"
        }
    }

    // MARK: - Helpers

    struct Count: Decodable { var n: Int }

    func count(_ query: SQLQueryString) async throws -> Int {
        try await sql.raw("SELECT COUNT(*) AS n FROM (\(query)) q").first(decoding: Count.self)?.n ?? 0
    }

    struct Distribution: Equatable, Sendable {
        var count: Int
        /// Seconds.
        var median: Double?
        var p90: Double?
        /// Shares of answers within 3 days, between 3 and 14 days, over 14 days.
        var within3: Int
        var within14: Int
        var over14: Int
    }

    /// Seconds from each application of the period to its `column`, where `condition` holds (the condition of
    /// one of `UpdateApplicationsAddFacts.delays`): their number and shares by delay in one pass, then the
    /// nearest-rank elements ⌈0.5·n⌉ and ⌈0.9·n⌉ read at their place in the delay's index.
    func distribution(of kept: UpdateApplicationsAddFacts.Delay) async throws -> Distribution {
        let delay = seconds("created_at", kept.column)
        let rows: SQLQueryString = "FROM applications a WHERE \(inPeriod) AND \(unsafeRaw: kept.condition)"
        let counted: SQLQueryString = "FROM \(facts) WHERE \(inPeriod) AND \(unsafeRaw: kept.condition)"
        struct Buckets: Decodable {
            var n: Int
            var short: Int?
            var middle: Int?
        }
        let buckets = try await sql.raw(
            """
            SELECT COUNT(*) AS n, SUM(CASE WHEN \(delay) <= \(unsafeRaw: String(3 * 86_400)) THEN 1 ELSE 0 END) AS short,
              SUM(CASE WHEN \(delay) > \(unsafeRaw: String(3 * 86_400)) AND \(delay) <= \(unsafeRaw: String(14 * 86_400))
                THEN 1 ELSE 0 END) AS middle
            \(counted)
            """
        ).first(decoding: Buckets.self)
        let n = buckets?.n ?? 0, short = buckets?.short ?? 0, middle = buckets?.middle ?? 0
        guard n > 0 else { return Distribution(count: 0, median: nil, p90: nil, within3: 0, within14: 0, over14: 0) }
        struct Value: Decodable { var d: Double }
        func element(rank: Int) async throws -> Double? {
            try await sql.raw(
                "SELECT \(delay) AS d \(rows) ORDER BY \(delay) LIMIT 1 OFFSET \(unsafeRaw: String(rank - 1))"
            ).first(decoding: Value.self)?.d
        }
        return Distribution(
            count: n, median: try await element(rank: (n + 1) / 2), p90: try await element(rank: (9 * n + 9) / 10),
            within3: short, within14: middle, over14: n - short - middle)
    }

    // MARK: - The period's applications, in one pass

    /// The period's applications counted by channel, stage and outcome, with what happened to them: enough for
    /// the acknowledgement coverage, the promises, ghosting, the funnel, the sources and the pool's returns.
    struct Summary: Equatable, Sendable {
        struct Group: Equatable, Sendable {
            var source: String
            /// The kind of the stage the applications are in (`new` when they have none).
            var stage: String
            var outcome: String
            var applications: Int
            var acknowledged: Int
            var unresponsive: Int
            /// Promised dates passed, or answered already; answered by then.
            var due: Int
            var kept: Int
            /// Applied while in the talent pool.
            var fromPool: Int
        }

        var groups: [Group]

        func total(_ figure: KeyPath<Group, Int>, where include: (Group) -> Bool = { _ in true }) -> Int {
            groups.filter(include).reduce(0) { $0 + $1[keyPath: figure] }
        }

        /// Groups merged by `key`, sorted by key.
        func by(_ key: (Group) -> String) -> [(String, [Group])] {
            Dictionary(grouping: groups, by: key).sorted { $0.key < $1.key }
        }
    }

    func summary() async throws -> Summary {
        struct Row: Decodable {
            var source: String
            var stage: UUID?
            var outcome: String
            var n: Int
            var acknowledged: Int
            var unresponsive: Int
            var due: Int?
            var kept: Int?
            var pool: Int?
        }
        let yes = db.isPostgres ? "TRUE" : "1"
        let rows = try await sql.raw(
            """
            SELECT a.source AS source, a.stage_id AS stage, a.outcome AS outcome, COUNT(*) AS n,
              COUNT(a.acknowledged_at) AS acknowledged, COUNT(a.unresponsive_at) AS unresponsive,
              SUM(CASE WHEN a.promised_by IS NOT NULL AND (a.promised_by < \(bind: now) OR a.answered_at <= a.promised_by)
                THEN 1 ELSE 0 END) AS due,
              SUM(CASE WHEN a.answered_at <= a.promised_by THEN 1 ELSE 0 END) AS kept,
              SUM(CASE WHEN a.from_pool = \(unsafeRaw: yes) THEN 1 ELSE 0 END) AS pool
            FROM \(facts) WHERE \(inPeriod) GROUP BY a.source, a.stage_id, a.outcome
            """
        ).all(decoding: Row.self)
        let stageIDs = Set(rows.compactMap(\.stage))
        var kinds: [UUID: String] = [:]
        if !stageIDs.isEmpty {
            for stage in try await Stage.query(on: db).filter(\.$id ~~ Array(stageIDs)).all() {
                kinds[try stage.requireID()] = stage.kind.rawValue
            }
        }
        return Summary(
            groups: rows.map {
                Summary.Group(
                    source: $0.source, stage: $0.stage.flatMap { kinds[$0] } ?? "new", outcome: $0.outcome,
                    applications: $0.n, acknowledged: $0.acknowledged, unresponsive: $0.unresponsive, due: $0.due ?? 0,
                    kept: $0.kept ?? 0, fromPool: $0.pool ?? 0)
            })
    }

    // MARK: - Acknowledgement

    struct Coverage: Equatable, Sendable {
        var source: String
        var applications: Int
        var acknowledged: Int
    }

    /// From application to the acknowledgement leaving.
    func timeToAcknowledge() async throws -> Distribution {
        try await distribution(of: UpdateApplicationsAddFacts.acknowledgement)
    }

    // MARK: - Promises and decisions

    struct Promises: Equatable, Sendable {
        /// Applications whose promised date has passed, or that were answered already.
        var due: Int
        var kept: Int
    }

    /// From application to the first decision: a stage change, a rejection or a withdrawal.
    func timeToFirstDecision() async throws -> Distribution {
        try await distribution(of: UpdateApplicationsAddFacts.firstDecision)
    }

    func timeToReject() async throws -> Distribution {
        try await distribution(of: UpdateApplicationsAddFacts.rejection)
    }

    func timeToHire() async throws -> Distribution { try await distribution(of: UpdateApplicationsAddFacts.hire) }

    /// Seconds from `column` to a bound date, in the engine's dialect.
    func elapsed(since column: String, until date: Date) -> SQLQueryString {
        db.isPostgres
            ? "EXTRACT(EPOCH FROM (CAST(\(bind: date) AS timestamptz) - \(unsafeRaw: column)))"
            : "(\(bind: date) - \(unsafeRaw: column))"
    }

    /// `days` (an SQL expression) before a bound date, in the engine's dialect.
    static func moment(_ date: Date, minusDays days: String, postgres: Bool) -> SQLQueryString {
        postgres
            ? "(CAST(\(bind: date) AS timestamptz) - \(unsafeRaw: days) * INTERVAL '1 day')"
            : "(\(bind: date) - \(unsafeRaw: days) * 86400)"
    }

    func moment(_ date: Date, minusDays days: String) -> SQLQueryString {
        Self.moment(date, minusDays: days, postgres: db.isPostgres)
    }

    /// Active applications of the scope (whatever their date) past their decision deadline now: counted job by
    /// job, each a range of an index.
    func waitingPastDeadline() async throws -> Int {
        var total = try await count(
            """
            SELECT a.id FROM jobs j JOIN applications a ON a.job_id = j.id AND a.outcome = 'active'
              AND a.stage_entered_at < \(moment(now, minusDays: "COALESCE(j.response_target_days, 14)"))
            WHERE 1 = 1\(scopeFilter(jobColumn: "j.id"))
            """)
        if scope == .company {
            total += try await count(
                """
                SELECT a.id FROM applications a WHERE a.outcome = 'active' AND a.job_id IS NULL
                  AND a.stage_entered_at < \(moment(now, minusDays: "14"))
                """)
        }
        return total
    }

    /// How many applications were waiting for their first decision past the response target, at `points`
    /// moments spread over the period (the last one is the period's end): one pass over the applications.
    func waitingOverTime(points: Int = 6) async throws -> [(Date, Int)] {
        let step = period.end.timeIntervalSince(period.start) / Double(points)
        let moments = (1...points).map { min(period.start + step * Double($0), now) }
        var sums: SQLQueryString = ""
        for (index, moment) in moments.enumerated() {
            sums = """
                \(sums)\(unsafeRaw: index == 0 ? "" : ", ")SUM(CASE WHEN q.created < \(bind: moment)
                  AND \(elapsed(since: "q.created", until: moment)) > q.target * 86400
                  AND (q.answered IS NULL OR q.answered > \(bind: moment)) THEN 1 ELSE 0 END) AS p\(unsafeRaw: String(index))
                """
        }
        let row = try await sql.raw(
            """
            SELECT \(sums) FROM (
              SELECT a.created_at AS created, COALESCE(j.response_target_days, 14) AS target,
                COALESCE(a.first_decision_at, a.decided_at) AS answered
              FROM \(facts) LEFT JOIN jobs j ON j.id = a.job_id
              WHERE a.created_at < \(bind: period.end) AND (a.decided_at IS NULL OR a.decided_at > \(bind: period.start))
                AND (a.first_decision_at IS NULL OR a.first_decision_at > \(bind: period.start))
                \(scopeFilter(jobColumn: "a.job_id"))) q
            """
        ).first()
        return try moments.enumerated().map { index, moment in
            (moment, try row?.decode(column: "p\(index)", as: Int?.self) ?? 0)
        }
    }

    struct NoShows: Equatable, Sendable {
        var held: Int
        var missed: Int
    }

    /// Interviews of the period whose time has passed (not cancelled), and those the candidate missed.
    func noShows() async throws -> NoShows {
        struct Row: Decodable {
            var held: Int
            var missed: Int?
        }
        let row = try await sql.raw(
            """
            SELECT COUNT(*) AS held, SUM(CASE WHEN i.status = 'no_show' THEN 1 ELSE 0 END) AS missed
            FROM interviews i JOIN applications a ON a.id = i.application_id
            WHERE i.status IN ('scheduled', 'no_show') AND i.starts_at >= \(bind: period.start)
              AND i.starts_at < \(bind: period.end) AND i.starts_at < \(bind: now)\(scopeFilter(jobColumn: "a.job_id"))
            """
        ).first(decoding: Row.self)
        return NoShows(held: row?.held ?? 0, missed: row?.missed ?? 0)
    }

    // MARK: - Talent pool

    struct Pool: Equatable, Sendable {
        /// People (not merged, not erased) now.
        var people: Int
        /// People whose current state for each purpose gives the consent.
        var consents: [String: Int]
        var expiringWithin30Days: Int
    }

    /// Pool consent lasts two years from its last grant or renewal.
    static let poolTerm: TimeInterval = 730 * 86_400

    /// The pool now, from the current consent states (the ledger's latest event per person and purpose).
    func pool() async throws -> Pool {
        struct Row: Decodable {
            var purpose: String
            var n: Int
        }
        let given = "'granted', 'confirmed', 'renewed'"
        // One state per person and purpose, except the newsletter (one per series): only it needs DISTINCT.
        let rows = try await sql.raw(
            """
            SELECT purpose, COUNT(*) AS n FROM consent_states
            WHERE purpose <> 'newsletter' AND action IN (\(unsafeRaw: given)) GROUP BY purpose
            UNION ALL
            SELECT 'newsletter' AS purpose, COUNT(DISTINCT candidate_id) AS n FROM consent_states
            WHERE purpose = 'newsletter' AND action IN (\(unsafeRaw: given))
            """
        ).all(decoding: Row.self).filter { $0.n > 0 }
        let people = try await count(
            "SELECT id FROM candidates WHERE merged_into_id IS NULL AND email <> ''")
        let expiring = try await count(
            """
            SELECT candidate_id FROM consent_states WHERE purpose = 'talent_pool' AND action IN (\(unsafeRaw: given))
              AND at <= \(bind: now - Self.poolTerm + 30 * 86_400)
            """)
        return Pool(
            people: people, consents: Dictionary(rows.map { ($0.purpose, $0.n) }, uniquingKeysWith: +),
            expiringWithin30Days: expiring)
    }

    // MARK: - Ghosting and funnel

    struct StageShare: Equatable, Sendable {
        var stage: String
        var applications: Int
        var unresponsive: Int
    }

    struct FunnelStep: Equatable, Sendable {
        var kind: String
        /// Applications that reached this kind of stage (or a later one).
        var reached: Int
    }

    static let stageOrder = ["new", "screening", "interview", "offer", "hired"]

    struct SourceRow: Equatable, Sendable {
        var source: String
        var applications: Int
        var hired: Int
    }

    // MARK: - Satisfaction

    struct Satisfaction: Equatable, Sendable {
        var surveysSent: Int
        var answers: Int
        var promoters: Int
        var detractors: Int
        /// Shown only from 5 answers, so that no one can be recognised.
        var comments: [String]

        var nps: Int? {
            answers == 0 ? nil : Int((Double(promoters - detractors) * 100 / Double(answers)).rounded())
        }
    }

    static let minimumAnswers = 5

    /// Answers received in the period (their job in the scope), against the surveys sent in it.
    func satisfaction() async throws -> Satisfaction {
        let filter = scopeFilter(jobColumn: "s.job_id")
        let answers: SQLQueryString = """
            SELECT s.* FROM survey_answers s
            WHERE s.created_at >= \(bind: period.start) AND s.created_at < \(bind: period.end)\(filter)
            """
        struct Row: Decodable {
            var n: Int
            var promoters: Int?
            var detractors: Int?
        }
        let row = try await sql.raw(
            """
            SELECT COUNT(*) AS n, SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END) AS promoters,
              SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END) AS detractors FROM (\(answers)) q
            """
        ).first(decoding: Row.self)
        let sentFilter: SQLQueryString =
            scope == .company
            ? ""
            : " AND EXISTS (SELECT 1 FROM applications a WHERE a.id = o.application_id\(scopeFilter(jobColumn: "a.job_id")))"
        let sent = try await count(
            """
            SELECT o.id FROM outbox o WHERE o.kind = 'satisfaction_survey' AND o.status = 'sent'
              AND o.created_at >= \(bind: period.start) AND o.created_at < \(bind: period.end)\(sentFilter)
            """)
        var comments: [String] = []
        if (row?.n ?? 0) >= Self.minimumAnswers {
            struct Comment: Decodable { var comment: String }
            comments = try await sql.raw(
                "SELECT comment FROM (\(answers)) q WHERE comment <> '' ORDER BY created_at DESC LIMIT 50"
            ).all(decoding: Comment.self).map(\.comment)
        }
        return Satisfaction(
            surveysSent: sent, answers: row?.n ?? 0, promoters: row?.promoters ?? 0, detractors: row?.detractors ?? 0,
            comments: comments)
    }
}

extension Indicators.Summary {
    /// Applications acknowledged (the acknowledgement sent), by channel of application.
    var coverage: [Indicators.Coverage] {
        by(\.source).map { source, groups in
            let part = Self(groups: groups)
            return .init(
                source: source, applications: part.total(\.applications), acknowledged: part.total(\.acknowledged))
        }
    }

    /// A promise is kept when a decision or a human update was queued for the candidate by the promised date.
    var promises: Indicators.Promises { .init(due: total(\.due), kept: total(\.kept)) }

    /// Applications marked unresponsive, by the kind of stage they had reached.
    var ghosting: [Indicators.StageShare] {
        by(\.stage).map { stage, groups in
            let part = Self(groups: groups)
            return .init(
                stage: stage, applications: part.total(\.applications), unresponsive: part.total(\.unresponsive))
        }
    }

    /// How far applications went: each reaches its current stage kind and every kind before it (a hired
    /// application reached `hired` whatever its stage).
    var funnel: [Indicators.FunnelStep] {
        var at: [String: Int] = [:]
        for group in groups { at[group.outcome == "hired" ? "hired" : group.stage, default: 0] += group.applications }
        let order = Indicators.stageOrder
        return order.enumerated().map { index, kind in
            .init(kind: kind, reached: order[index...].reduce(0) { $0 + (at[$1] ?? 0) })
        }
    }

    /// Applications and hires by channel, the most used first.
    var sources: [Indicators.SourceRow] {
        by(\.source).map { source, groups in
            let part = Self(groups: groups)
            return .init(
                source: source, applications: part.total(\.applications),
                hired: part.total(\.applications) { $0.outcome == "hired" })
        }.sorted { ($0.applications, $1.source) > ($1.applications, $0.source) }
    }

    /// Applications of the period by people who were in the talent pool before applying, and those hired.
    var reapplied: Int { total(\.fromPool) }
    var hiredFromPool: Int { total(\.fromPool) { $0.outcome == "hired" } }
}

// MARK: - Newsletters and campaigns

extension Indicators {
    /// What the campaign messages of a group did (a series, the one-off campaigns, the job proposals, a segment).
    struct CampaignLine: Equatable, Sendable, Encodable {
        var name: String
        var recipients: Int
        var delivered: Int
        var bounced: Int
        var uniqueClicks: Int
        var opens: Int
        var unsubscribes: Int
        var complaints: Int
    }

    /// The columns of a `CampaignLine` over outbox rows `o` of campaigns `c`: each event counted once per message.
    static var campaignFigures: SQLQueryString {
        func did(_ kind: String) -> SQLQueryString {
            """
            SUM(CASE WHEN EXISTS (SELECT 1 FROM campaign_events e WHERE e.campaign_id = o.campaign_id
              AND e.kind = \(bind: kind) AND e.outbox_id = o.id) THEN 1 ELSE 0 END)
            """
        }
        return """
            COUNT(o.id) AS recipients, SUM(CASE WHEN o.status = 'sent' THEN 1 ELSE 0 END) AS delivered,
            SUM(CASE WHEN o.last_reply LIKE 'bounce%' THEN 1 ELSE 0 END) AS bounced, \(did("click")) AS clicked,
            \(did("open")) AS opened, \(did("unsubscribe")) AS unsubscribed, \(did("complaint")) AS complained
            """
    }

    private struct CampaignRow: Decodable {
        var name: String?
        var recipients: Int
        var delivered: Int?
        var bounced: Int?
        var clicked: Int?
        var opened: Int?
        var unsubscribed: Int?
        var complained: Int?

        func line(_ name: String) -> CampaignLine {
            CampaignLine(
                name: name, recipients: recipients, delivered: delivered ?? 0, bounced: bounced ?? 0,
                uniqueClicks: clicked ?? 0, opens: opened ?? 0, unsubscribes: unsubscribed ?? 0,
                complaints: complained ?? 0)
        }
    }

    /// Campaign messages queued in the period, by newsletter series (other campaigns by kind). Campaigns are the
    /// company's: the scope of the dashboard does not narrow them.
    func campaignsBySeries() async throws -> [CampaignLine] {
        try await sql.raw(
            """
            SELECT COALESCE(ns.name, c.kind) AS name, \(Self.campaignFigures)
            FROM outbox o JOIN campaigns c ON c.id = o.campaign_id
            LEFT JOIN newsletter_series ns ON ns.id = c.series_id
            WHERE o.campaign_id IS NOT NULL AND o.created_at >= \(bind: period.start) AND o.created_at < \(bind: period.end)
            GROUP BY COALESCE(ns.name, c.kind) ORDER BY 1
            """
        ).all(decoding: CampaignRow.self).map { $0.line($0.name ?? "") }
    }

    /// The same messages, for the people of each saved segment (as the segment stands now).
    func campaignsBySegment() async throws -> [CampaignLine] {
        try await Self.campaignsBySegment(
            messages: "o.created_at >= \(bind: period.start) AND o.created_at < \(bind: period.end)", db: db, now: now)
    }

    /// What the campaign messages `messages` (a condition on `outbox o`) did, for the people of each saved
    /// segment who received one: the dashboard's figures and a campaign's report.
    static func campaignsBySegment(messages: SQLQueryString, db: any Database, now: Date) async throws
        -> [CampaignLine]
    {
        var lines: [CampaignLine] = []
        for segment in try await Segment.query(on: db).sort(\.$name).all() {
            var query = SegmentQuery(db: db, now: now)
            query.probing = true
            guard let condition = try? query.condition(segment.definition),
                let row = try await db.sql().raw(
                    """
                    SELECT \(campaignFigures) FROM outbox o JOIN candidate_facts f ON f.id = o.candidate_id
                    WHERE o.campaign_id IS NOT NULL AND \(messages) AND \(condition)
                    """
                ).first(decoding: CampaignRow.self), row.recipients > 0
            else { continue }
            lines.append(row.line(segment.name))
        }
        return lines
    }

    /// People who joined the talent pool in the period and people who left it (withdrawn or expired), from the
    /// ledger; and people of the pool who clicked a campaign or replied (re-engaged).
    struct PoolMovement: Equatable, Sendable {
        var joined: Int
        var left: Int
        var reengaged: Int
    }

    func poolMovement() async throws -> PoolMovement {
        func people(_ actions: [String]) async throws -> Int {
            try await count(
                """
                SELECT DISTINCT candidate_id FROM consent_events WHERE purpose = 'talent_pool'
                AND created_at >= \(bind: period.start) AND created_at < \(bind: period.end)
                AND action IN (\(SQLList(actions.map { SQLBind($0) })))
                """)
        }
        let reengaged = try await count(
            """
            SELECT candidate_id FROM campaign_events WHERE kind = 'click'
              AND at >= \(bind: period.start) AND at < \(bind: period.end) AND candidate_id IS NOT NULL
            UNION
            SELECT i.candidate_id FROM interactions i WHERE i.kind = 'reply'
              AND i.created_at >= \(bind: period.start) AND i.created_at < \(bind: period.end)
              AND EXISTS (SELECT 1 FROM consent_states s WHERE s.candidate_id = i.candidate_id
                AND s.purpose = 'talent_pool' AND s.action IN ('granted', 'confirmed', 'renewed'))
            """)
        return PoolMovement(
            joined: try await people(["granted"]), left: try await people(["withdrawn", "expired"]),
            reengaged: reengaged)
    }
}

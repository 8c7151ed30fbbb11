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
    func seconds(_ from: String, _ to: String) -> SQLQueryString {
        db.isPostgres
            ? "EXTRACT(EPOCH FROM (\(unsafeRaw: to) - \(unsafeRaw: from)))"
            : "(\(unsafeRaw: to) - \(unsafeRaw: from))"
    }

    /// The applications of the period and scope, as a subquery aliased `a` (columns of `applications`, plus the
    /// job's department and response target).
    var applications: SQLQueryString {
        let filter = scopeFilter(jobColumn: "a.job_id")
        return """
            (SELECT a.*, j.department AS department, COALESCE(j.response_target_days, 14) AS target_days
             FROM applications a LEFT JOIN jobs j ON j.id = a.job_id
             WHERE a.created_at >= \(bind: period.start) AND a.created_at < \(bind: period.end)\(filter))
            """
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
    struct Value: Decodable { var v: Double? }

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

    func distribution(_ durations: SQLQueryString) async throws -> Distribution {
        struct Buckets: Decodable {
            var n: Int
            var short: Int?
            var middle: Int?
            var long: Int?
        }
        let buckets = try await sql.raw(
            """
            SELECT COUNT(*) AS n,
              SUM(CASE WHEN d <= \(unsafeRaw: String(3 * 86_400)) THEN 1 ELSE 0 END) AS short,
              SUM(CASE WHEN d > \(unsafeRaw: String(3 * 86_400)) AND d <= \(unsafeRaw: String(14 * 86_400)) THEN 1 ELSE 0 END) AS middle,
              SUM(CASE WHEN d > \(unsafeRaw: String(14 * 86_400)) THEN 1 ELSE 0 END) AS long
            FROM (\(durations)) q
            """
        ).first(decoding: Buckets.self)
        let total = buckets?.n ?? 0
        var median: Double?, p90: Double?
        if total > 0 {
            // Both nearest-rank elements in one pass: ranks ⌈0.5·n⌉ and ⌈0.9·n⌉ of the sorted durations.
            let ranks = [0.5, 0.9].map { max(Int(($0 * Double(total)).rounded(.up)), 1) }
            struct Ranked: Decodable {
                var r: Int
                var d: Double
            }
            let rows = try await sql.raw(
                """
                SELECT r, d FROM (SELECT d, ROW_NUMBER() OVER (ORDER BY d) AS r FROM (\(durations)) q) ranked
                WHERE r IN (\(binds: ranks))
                """
            ).all(decoding: Ranked.self)
            median = rows.first { $0.r == ranks[0] }?.d
            p90 = rows.first { $0.r == ranks[1] }?.d
        }
        return Distribution(
            count: total, median: median, p90: p90, within3: buckets?.short ?? 0, within14: buckets?.middle ?? 0,
            over14: buckets?.long ?? 0)
    }

    // MARK: - Acknowledgement

    struct Coverage: Equatable, Sendable {
        var source: String
        var applications: Int
        var acknowledged: Int
    }

    /// Applications acknowledged (the acknowledgement sent), by channel of application.
    func acknowledgementCoverage() async throws -> [Coverage] {
        struct Row: Decodable {
            var source: String
            var n: Int
            var acknowledged: Int?
        }
        return try await sql.raw(
            """
            SELECT a.source AS source, COUNT(*) AS n,
              SUM(CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.application_id = a.id
                AND o.kind = 'acknowledgement' AND o.status = 'sent') THEN 1 ELSE 0 END) AS acknowledged
            FROM \(applications) a GROUP BY a.source ORDER BY a.source
            """
        ).all(decoding: Row.self).map {
            Coverage(source: $0.source, applications: $0.n, acknowledged: $0.acknowledged ?? 0)
        }
    }

    /// From application to the acknowledgement leaving.
    func timeToAcknowledge() async throws -> Distribution {
        try await distribution(
            """
            SELECT \(seconds("a.created_at", "o.sent_at")) AS d FROM \(applications) a
            JOIN outbox o ON o.application_id = a.id AND o.kind = 'acknowledgement' AND o.status = 'sent'
            """)
    }

    // MARK: - Promises and decisions

    struct Promises: Equatable, Sendable {
        /// Applications whose promised date has passed, or that were answered already.
        var due: Int
        var kept: Int
    }

    /// A promise is kept when a decision or a human update was queued for the candidate by the promised date.
    func promises() async throws -> Promises {
        let answered: SQLQueryString = """
            EXISTS (SELECT 1 FROM outbox o WHERE o.application_id = a.id AND o.kind NOT IN (\(binds: MessageKind.automatic))
              AND o.status <> 'cancelled' AND o.created_at <= a.promised_by)
            """
        struct Row: Decodable {
            var due: Int?
            var kept: Int?
        }
        let row = try await sql.raw(
            """
            SELECT SUM(CASE WHEN a.promised_by < \(bind: now) OR \(answered) THEN 1 ELSE 0 END) AS due,
                   SUM(CASE WHEN \(answered) THEN 1 ELSE 0 END) AS kept
            FROM \(applications) a WHERE a.promised_by IS NOT NULL
            """
        ).first(decoding: Row.self)
        return Promises(due: row?.due ?? 0, kept: row?.kept ?? 0)
    }

    /// From application to the first decision: a stage change, a rejection or a withdrawal.
    func timeToFirstDecision() async throws -> Distribution {
        try await distribution(
            """
            SELECT \(seconds("a.created_at", "MIN(i.created_at)")) AS d FROM \(applications) a
            JOIN interactions i ON i.application_id = a.id AND i.kind IN ('stage_changed', 'rejected', 'withdrawn')
            GROUP BY a.id, a.created_at
            """)
    }

    func timeToReject() async throws -> Distribution {
        try await distribution(
            """
            SELECT \(seconds("a.created_at", "a.decided_at")) AS d FROM \(applications) a
            WHERE a.outcome = 'rejected' AND a.decided_at IS NOT NULL
            """)
    }

    /// Seconds from `column` to a bound date, in the engine's dialect.
    func elapsed(since column: String, until date: Date) -> SQLQueryString {
        db.isPostgres
            ? "EXTRACT(EPOCH FROM (CAST(\(bind: date) AS timestamptz) - \(unsafeRaw: column)))"
            : "(\(bind: date) - \(unsafeRaw: column))"
    }

    /// The scope's applications of any date.
    var everApplications: SQLQueryString {
        Indicators(db: db, period: Period(start: .distantPast, end: .distantFuture), scope: scope, now: now)
            .applications
    }

    /// Active applications of the scope (whatever their date) past their decision deadline now.
    func waitingPastDeadline() async throws -> Int {
        try await count(
            """
            SELECT a.id FROM \(everApplications) a WHERE a.outcome = 'active'
              AND \(elapsed(since: "a.stage_entered_at", until: now)) > a.target_days * 86400
            """)
    }

    /// How many applications were waiting for their first decision past the response target, at `points`
    /// moments spread over the period (the last one is the period's end): one pass over the applications, each
    /// with its first decision looked up once.
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
              SELECT a.created_at AS created, a.target_days AS target,
                COALESCE((SELECT MIN(i.created_at) FROM interactions i WHERE i.application_id = a.id
                  AND i.kind IN ('stage_changed', 'rejected', 'withdrawn')), a.decided_at) AS answered
              FROM \(everApplications) a WHERE a.created_at < \(bind: period.end)
                AND (a.decided_at IS NULL OR a.decided_at > \(bind: period.start))) q
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
            FROM interviews i JOIN \(everApplications) a ON a.id = i.application_id
            WHERE i.status IN ('scheduled', 'no_show') AND i.starts_at >= \(bind: period.start)
              AND i.starts_at < \(bind: period.end) AND i.starts_at < \(bind: now)
            """
        ).first(decoding: Row.self)
        return NoShows(held: row?.held ?? 0, missed: row?.missed ?? 0)
    }

    // MARK: - Talent pool

    struct Pool: Equatable, Sendable {
        /// People (not merged, not erased) now.
        var people: Int
        /// People whose latest event for each purpose gives the consent.
        var consents: [String: Int]
        var expiringWithin30Days: Int
        /// Applications of the period (in the scope) by people who were in the pool before applying.
        var reapplied: Int
        var hired: Int
    }

    /// Pool consent lasts two years from its last grant or renewal.
    static let poolTerm: TimeInterval = 730 * 86_400

    func pool() async throws -> Pool {
        let latest: SQLQueryString = """
            SELECT e.candidate_id, e.purpose, e.action, e.created_at FROM consent_events e
            WHERE e.created_at = (SELECT MAX(e2.created_at) FROM consent_events e2
              WHERE e2.candidate_id = e.candidate_id AND e2.purpose = e.purpose)
            """
        struct Row: Decodable {
            var purpose: String
            var n: Int
        }
        let rows = try await sql.raw(
            """
            SELECT l.purpose AS purpose, COUNT(DISTINCT l.candidate_id) AS n FROM (\(latest)) l
            WHERE l.action IN ('granted', 'confirmed', 'renewed') GROUP BY l.purpose
            """
        ).all(decoding: Row.self)
        let people = try await count(
            "SELECT id FROM candidates WHERE merged_into_id IS NULL AND email <> ''")
        let expiring = try await count(
            """
            SELECT l.candidate_id FROM (\(latest)) l WHERE l.purpose = 'talent_pool'
              AND l.action IN ('granted', 'confirmed', 'renewed')
              AND l.created_at <= \(bind: now - Self.poolTerm + 30 * 86_400)
            """)
        let fromPool: SQLQueryString = """
            EXISTS (SELECT 1 FROM consent_events e WHERE e.candidate_id = a.candidate_id
              AND e.purpose = 'talent_pool' AND e.action IN ('granted', 'confirmed', 'renewed')
              AND e.created_at < a.created_at)
            """
        let reapplied = try await count("SELECT a.id FROM \(applications) a WHERE \(fromPool)")
        let hired = try await count(
            "SELECT a.id FROM \(applications) a WHERE a.outcome = 'hired' AND \(fromPool)")
        return Pool(
            people: people, consents: Dictionary(rows.map { ($0.purpose, $0.n) }, uniquingKeysWith: +),
            expiringWithin30Days: expiring, reapplied: reapplied, hired: hired)
    }

    // MARK: - Ghosting and funnel

    struct StageShare: Equatable, Sendable {
        var stage: String
        var applications: Int
        var unresponsive: Int
    }

    /// Applications marked unresponsive, by the kind of stage they had reached.
    func ghosting() async throws -> [StageShare] {
        struct Row: Decodable {
            var kind: String?
            var n: Int
            var ghosted: Int?
        }
        return try await sql.raw(
            """
            SELECT s.kind AS kind, COUNT(*) AS n,
              SUM(CASE WHEN EXISTS (SELECT 1 FROM interactions i WHERE i.application_id = a.id
                AND i.kind = 'marked_unresponsive') THEN 1 ELSE 0 END) AS ghosted
            FROM \(applications) a LEFT JOIN stages s ON s.id = a.stage_id
            GROUP BY s.kind ORDER BY s.kind
            """
        ).all(decoding: Row.self).map {
            StageShare(stage: $0.kind ?? "new", applications: $0.n, unresponsive: $0.ghosted ?? 0)
        }
    }

    struct FunnelStep: Equatable, Sendable {
        var kind: String
        /// Applications that reached this kind of stage (or a later one).
        var reached: Int
    }

    static let stageOrder = ["new", "screening", "interview", "offer", "hired"]

    /// How far applications went: each reaches its current stage kind and every kind before it.
    func funnel() async throws -> [FunnelStep] {
        struct Row: Decodable {
            var kind: String?
            var n: Int
        }
        let rows = try await sql.raw(
            """
            SELECT CASE WHEN a.outcome = 'hired' THEN 'hired' ELSE s.kind END AS kind, COUNT(*) AS n
            FROM \(applications) a LEFT JOIN stages s ON s.id = a.stage_id
            GROUP BY CASE WHEN a.outcome = 'hired' THEN 'hired' ELSE s.kind END
            """
        ).all(decoding: Row.self)
        var at: [String: Int] = [:]
        for row in rows { at[row.kind ?? "new", default: 0] += row.n }
        return Self.stageOrder.enumerated().map { index, kind in
            FunnelStep(kind: kind, reached: Self.stageOrder[index...].reduce(0) { $0 + (at[$1] ?? 0) })
        }
    }

    struct SourceRow: Equatable, Sendable {
        var source: String
        var applications: Int
        var hired: Int
    }

    func sources() async throws -> [SourceRow] {
        struct Row: Decodable {
            var source: String
            var n: Int
            var hired: Int?
        }
        return try await sql.raw(
            """
            SELECT a.source AS source, COUNT(*) AS n, SUM(CASE WHEN a.outcome = 'hired' THEN 1 ELSE 0 END) AS hired
            FROM \(applications) a GROUP BY a.source ORDER BY COUNT(*) DESC, a.source
            """
        ).all(decoding: Row.self).map { SourceRow(source: $0.source, applications: $0.n, hired: $0.hired ?? 0) }
    }

    func timeToHire() async throws -> Distribution {
        try await distribution(
            """
            SELECT \(seconds("a.created_at", "a.decided_at")) AS d FROM \(applications) a
            WHERE a.outcome = 'hired' AND a.decided_at IS NOT NULL
            """)
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
            scope == .company ? "" : " AND o.application_id IN (SELECT a.id FROM \(everApplications) a)"
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
            WHERE o.created_at >= \(bind: period.start) AND o.created_at < \(bind: period.end)
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
            guard let condition = try? SegmentQuery(db: db, now: now).condition(segment.definition),
                let row = try await db.sql().raw(
                    """
                    SELECT \(campaignFigures) FROM outbox o JOIN candidates c ON c.id = o.candidate_id
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
                AND action IN (\(SQLList(actions.map { SQLBind($0) })))
                AND created_at >= \(bind: period.start) AND created_at < \(bind: period.end)
                """)
        }
        let reengaged = try await count(
            """
            SELECT candidate_id FROM campaign_events WHERE kind = 'click'
              AND at >= \(bind: period.start) AND at < \(bind: period.end) AND candidate_id IS NOT NULL
            UNION
            SELECT i.candidate_id FROM interactions i WHERE i.kind = 'reply'
              AND i.created_at >= \(bind: period.start) AND i.created_at < \(bind: period.end)
              AND i.candidate_id IN (SELECT candidate_id FROM consent_states WHERE purpose = 'talent_pool'
                AND action IN ('granted', 'confirmed', 'renewed'))
            """)
        return PoolMovement(
            joined: try await people(["granted"]), left: try await people(["withdrawn", "expired"]),
            reengaged: reengaged)
    }
}

import Fluent
import SQLKit
import Vapor
import VivierCore

/// How long Vivier keeps people (CNIL recruitment guidance, 2023): while an application is in progress; 3 months
/// after the last application ends for someone who gave no consent to be contacted; 2 years after the last active
/// contact (a reply, a click, an application, a portal visit — not an email open) for someone who did; hired people
/// per the admin's choice. Admins change the durations; the defaults are the CNIL's.
struct RetentionPolicy: Codable, Sendable, Equatable {
    var unsuccessfulMonths = 3
    var consentedMonths = 24
    var noticeDays = 30
    var graceDays = 7
    /// 0 keeps hired people (their file goes to HR); otherwise months after the hire.
    var hiredMonths = 0

    static let prefix = "retention."

    private var values: [(String, Int)] {
        [
            ("unsuccessful_months", unsuccessfulMonths), ("consented_months", consentedMonths),
            ("notice_days", noticeDays), ("grace_days", graceDays), ("hired_months", hiredMonths),
        ]
    }

    static func load(on db: any Database) async throws -> RetentionPolicy {
        let rows = try await Setting.query(on: db).filter(\.$key ~~ RetentionPolicy().values.map { prefix + $0.0 })
            .all()
        let stored = Dictionary(rows.map { ($0.key, Int($0.value)) }, uniquingKeysWith: { a, _ in a })
        var policy = RetentionPolicy()
        func number(_ key: String, _ fallback: Int) -> Int { (stored[prefix + key] ?? nil) ?? fallback }
        policy.unsuccessfulMonths = number("unsuccessful_months", policy.unsuccessfulMonths)
        policy.consentedMonths = number("consented_months", policy.consentedMonths)
        policy.noticeDays = number("notice_days", policy.noticeDays)
        policy.graceDays = number("grace_days", policy.graceDays)
        policy.hiredMonths = number("hired_months", policy.hiredMonths)
        return policy
    }

    func save(on db: any Database) async throws {
        for (key, value) in values {
            if let row = try await Setting.query(on: db).filter(\.$key == Self.prefix + key).first() {
                row.value = String(value)
                try await row.save(on: db)
            } else {
                try await Setting(key: Self.prefix + key, value: String(value)).create(on: db)
            }
        }
    }
}

/// The scheduled purge: a renewal notice 30 days before a person's data expires (once per expiry date), and after
/// the expiry and a 7-day grace without an answer, irreversible anonymisation. Every step is idempotent and each
/// person is one transaction, so a run killed at any point and run again finishes the work and repeats none.
struct Retention {
    let app: Application
    let now: Date
    var db: any Database { app.db }

    struct Report: Equatable, Sendable, Encodable {
        var notices = 0
        var anonymised = 0
        var expiringIn30Days = 0
    }

    /// A person whose data has an end date.
    struct Due: Equatable, Sendable {
        var id: UUID
        var name: String
        var expiry: Date
        var hasEmail: Bool
    }

    private struct Row: Decodable {
        var id: UUID
        var email: String
        var first_name: String
        var last_name: String
        var created_at: Date?
        var last_active_contact_at: Date?
        var last_end: Date?
        var hired_at: Date?
        var active: Int
        var consented: Int
    }

    /// Everyone not in an active process, with the date their data expires under `policy`.
    func expiries(_ policy: RetentionPolicy) async throws -> [Due] {
        let rows = try await db.sql().raw(
            """
            SELECT c.id, c.email, c.first_name, c.last_name, c.created_at, c.last_active_contact_at,
              (SELECT MAX(a.decided_at) FROM applications a WHERE a.candidate_id = c.id) AS last_end,
              (SELECT MAX(a.decided_at) FROM applications a WHERE a.candidate_id = c.id AND a.outcome = 'hired')
                AS hired_at,
              CASE WHEN EXISTS (SELECT 1 FROM applications a WHERE a.candidate_id = c.id AND a.outcome = 'active')
                THEN 1 ELSE 0 END AS active,
              CASE WHEN EXISTS (SELECT 1 FROM consent_states s WHERE s.candidate_id = c.id
                AND s.purpose IN ('talent_pool', 'newsletter', 'job_alerts')
                AND s.action IN ('granted', 'confirmed', 'renewed')) THEN 1 ELSE 0 END AS consented
            FROM candidates c
            WHERE c.erased_at IS NULL AND c.merged_into_id IS NULL
            """
        ).all(decoding: Row.self)
        let calendar = Calendar(identifier: .gregorian)
        func adding(_ months: Int, to date: Date) -> Date { calendar.date(byAdding: .month, value: months, to: date)! }
        return rows.compactMap { row in
            guard row.active == 0 else { return nil }
            let expiry: Date
            if let hired = row.hired_at {
                guard policy.hiredMonths > 0 else { return nil }
                expiry = adding(policy.hiredMonths, to: hired)
            } else if row.consented == 1 {
                expiry = adding(policy.consentedMonths, to: row.last_active_contact_at ?? row.created_at ?? now)
            } else {
                expiry = adding(policy.unsuccessfulMonths, to: row.last_end ?? row.created_at ?? now)
            }
            return Due(
                id: row.id, name: "\(row.first_name) \(row.last_name)", expiry: expiry, hasEmail: !row.email.isEmpty)
        }
    }

    static func noticeKey(_ id: UUID, expiry: Date) -> String {
        "retention:\(id.lowercasedString):\(Dates.iso8601Day(expiry))"
    }

    /// One pass: notices due, anonymisations due. `dryRun` counts without acting; `dues` are the expiries when the
    /// caller already read them.
    func run(dryRun: Bool = false, dues: [Due]? = nil) async throws -> Report {
        let policy = try await RetentionPolicy.load(on: db)
        var report = Report()
        let composer = try await Composer(db: db, app: app, now: now).loadingCompany()
        // Every notice ever sent, read once: when each went, by its dedupe key.
        struct Sent: Decodable {
            var dedupe_key: String
            var created_at: Date
        }
        let sent = Dictionary(
            try await db.sql().raw(
                "SELECT dedupe_key, created_at FROM outbox WHERE kind = \(bind: MessageKind.retentionNotice.rawValue)"
            ).all(decoding: Sent.self).map { ($0.dedupe_key, $0.created_at) }, uniquingKeysWith: { a, _ in a })
        let grace = Double(policy.graceDays) * 86_400
        let people: [Due]
        if let dues { people = dues } else { people = try await expiries(policy) }
        for person in people {
            if person.expiry > now && person.expiry <= now + 30 * 86_400 { report.expiringIn30Days += 1 }
            let key = Self.noticeKey(person.id, expiry: person.expiry)
            let noticeSentAt = sent[key]
            if noticeSentAt == nil, person.hasEmail, person.expiry - Double(policy.noticeDays) * 86_400 <= now {
                report.notices += 1
                if !dryRun { try await sendNotice(person, key: key, grace: grace, composer: composer) }
            } else if person.expiry + grace <= now,
                !person.hasEmail || (noticeSentAt ?? now) + grace <= now
            {
                report.anonymised += 1
                if !dryRun {
                    try await PersonalData.erase(
                        person.id, actor: nil, channel: .recruiter, reason: .retention, app: app, db: db, now: now)
                }
            }
        }
        return report
    }

    private func sendNotice(_ person: Due, key: String, grace: TimeInterval, composer: Composer) async throws {
        guard let candidate = try await Candidate.find(person.id, on: db) else { return }
        let language = Language(rawValue: candidate.language) ?? .fr
        let token = SignedLink.make(
            ["keep", person.id.lowercasedString], expires: person.expiry + grace,
            secret: app.config.secret)
        try await composer.send(
            .retentionNotice, to: candidate, application: nil, job: nil,
            extra: [
                "keep_url": app.config.publicURL + SiteURL.keep(token),
                "expiry_date": Dates.day(person.expiry, language),
            ], dedupeKey: key)
    }

    /// The scheduler's daily pass: once per calendar day of the company, when its sending window is open (notices
    /// reach people at a decent hour). Several instances may both run it: every step is idempotent.
    static func runDaily(app: Application, now: Date, window: SendingWindow) async throws -> Report? {
        guard window.nextMoment(from: now) == now else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = window.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        let today = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        let key = RetentionPolicy.prefix + "last_run"
        let row = try await Setting.query(on: app.db).filter(\.$key == key).first()
        guard row?.value != today else { return nil }
        let report = try await Retention(app: app, now: now).run()
        if let row {
            row.value = today
            try await row.save(on: app.db)
        } else {
            try await Setting(key: key, value: today).create(on: app.db)
        }
        return report
    }

    /// "Keep my profile": an active contact, and the talent-pool consent renewed (or given) from the email.
    static func keep(_ candidateID: UUID, language: Language, on db: any Database, now: Date) async throws {
        try await Candidate.query(on: db).filter(\.$id == candidateID).set(\.$lastActiveContactAt, to: now).update()
        let active = try await ConsentLedger.state(of: candidateID, on: db)[.talentPool] == true
        try await ConsentLedger.record(
            .talentPool, active ? .renewed : .granted, for: candidateID, channel: .emailLink, language: language,
            on: db, now: now)
    }
}

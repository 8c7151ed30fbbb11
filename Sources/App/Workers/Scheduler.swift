import Fluent
import SQLKit
import Vapor
import VivierCore
import VivierMail

/// The timers of the candidate moments, run every minute beside the outbox worker: "still in progress" updates
/// to candidates left without news, a follow-up (and the unresponsive mark) when a candidate leaves an
/// invitation unanswered, the satisfaction survey when an application ends, and each recruiter's daily digest of
/// applications near or past their decision deadline. Every step is idempotent (dedupe keys of the outbox), so a
/// re-run after a crash, or a second instance, sends nothing twice.
struct Scheduler {
    let app: Application
    var db: any Database { app.db }

    struct Report: Equatable, Sendable {
        var updates = 0
        var followUps = 0
        var surveys = 0
        var digests = 0
        var texts = 0
        var campaignMessages = 0
        var newsletterDigests = 0
        var retentionNotices = 0
        var anonymised = 0
    }

    /// Runs until cancelled, once a minute.
    func run() async {
        while !Task.isCancelled {
            do {
                _ = try await runOnce()
            } catch {
                app.logger.error("scheduler error", metadata: ["error": .string("\(error)")])
            }
            try? await Task.sleep(for: .seconds(60))
        }
    }

    func runOnce() async throws -> Report {
        let now = app.clock.now()
        let company = try await Company.load(on: db)
        let window = SendingWindow(company)
        var report = Report()
        report.updates = try await stillInProgress(now: now, company: company, window: window)
        report.followUps = try await silence(now: now, company: company, window: window)
        report.surveys = try await surveys(now: now, company: company, window: window)
        report.digests = try await digests(now: now, window: window)
        report.texts = try await TextMessages.sendDue(app: app, now: now)
        report.newsletterDigests = try await CampaignSender.monthlyDigests(
            app: app, now: now, timeZone: window.timeZone)
        report.campaignMessages = try await CampaignSender.runDue(app: app, now: now)
        if let retention = try await Retention.runDaily(app: app, now: now, window: window) {
            report.retentionNotices = retention.notices
            report.anonymised = retention.anonymised
        }
        // Replies kept for idempotency keys expire after a day; the webhook log keeps 30 days of what arrived.
        try await IdempotencyRecord.query(on: db).filter(\.$createdAt < now - APIMiddleware.idempotencyWindow).delete()
        try await WebhookDelivery.query(on: db).filter(\.$status == .delivered)
            .filter(\.$createdAt < now - 30 * 86_400).delete()
        if !db.isPostgres { try await db.sql().raw("PRAGMA optimize").run() }
        app.metrics.schedulerRun(report)
        return report
    }

    // MARK: - "No news" timer

    /// For each active application, the last time its candidate heard something (any message but the automatic
    /// ones; the application date if none).
    static func lastNews(on db: any Database, jobID: UUID? = nil, onlyAutoUpdates: Bool = false) async throws
        -> [UUID: Date]
    {
        struct Row: Decodable {
            var id: UUID
            var applied: Date
            var last: Date?
        }
        let jobFilter: SQLQueryString = jobID.map { "AND a.job_id = \(bind: $0)" } ?? ""
        let autoFilter: SQLQueryString = onlyAutoUpdates ? "AND j.auto_updates = \(bind: true)" : ""
        let rows = try await db.sql().raw(
            """
            SELECT a.id AS id, a.created_at AS applied, MAX(o.created_at) AS last
            FROM applications a
            JOIN jobs j ON j.id = a.job_id
            LEFT JOIN outbox o ON o.application_id = a.id
                AND o.kind NOT IN (\(binds: MessageKind.automatic)) AND o.status <> 'cancelled'
            WHERE a.outcome = 'active' \(jobFilter) \(autoFilter)
            GROUP BY a.id, a.created_at
            """
        ).all(decoding: Row.self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.id, max($0.applied, $0.last ?? $0.applied)) })
    }

    private func stillInProgress(now: Date, company: Company, window: SendingWindow) async throws -> Int {
        // Due when the silence reaches the delay; one already twice as long (an import, a job just switched on)
        // is flagged on the board rather than mailed out of the blue.
        let threshold = now - Double(company.noNewsDays) * 86_400
        let due = try await Self.lastNews(on: db, onlyAutoUpdates: true).filter {
            $0.value <= threshold && $0.value > threshold - Double(company.noNewsDays) * 86_400
        }
        var sent = 0
        for (applicationID, since) in due {
            sent += try await db.transaction { db in
                guard let application = try await JobApplication.find(applicationID, on: db),
                    let candidate = try await Candidate.find(application.$candidate.id, on: db)
                else { return 0 }
                let language = Language(rawValue: candidate.language) ?? .fr
                var extra: [String: Any] = [
                    "days_since_applied": Int(now.timeIntervalSince(application.createdAt ?? now) / 86_400)
                ]
                // Only a date still ahead; an absent key (not a nil in an Any, which renders "nil") hides the line.
                if let promised = application.promisedBy, promised > now {
                    extra["promised_date"] = Dates.day(promised, language)
                }
                let queued = try await Composer(db: db, app: app, now: now, company: company).send(
                    .stillInProgress, to: candidate, application: application,
                    job: try await application.$job.get(on: db),
                    extra: extra,
                    dedupeKey: "progress:\(applicationID.lowercasedString):\(Int(since.timeIntervalSince1970))",
                    sendAt: window.nextMoment(from: now))
                return queued ? 1 : 0
            }
        }
        return sent
    }

    // MARK: - Candidate silence

    /// An invitation left unanswered (no reply, no portal visit, no click since it was sent) for the company's
    /// silence delay marks the application unresponsive and sends one last, friendly follow-up.
    private func silence(now: Date, company: Company, window: SendingWindow) async throws -> Int {
        let expecting = MessageKind.allCases.filter(\.expectsAnswer).map(\.rawValue)
        let unanswered = try await OutboxMessage.query(on: db).filter(\.$kind ~~ expecting)
            .filter(\.$status == .sent).filter(\.$sentAt <= now - Double(company.silenceDays) * 86_400)
            .filter(\.$sentAt >= now - Double(company.silenceDays + 30) * 86_400)
            .filter(\.$applicationID != nil).all()
        var sent = 0
        for message in unanswered {
            guard let applicationID = message.applicationID, let sentAt = message.sentAt,
                let messageID = message.id
            else { continue }
            sent += try await db.transaction { db in
                guard let application = try await JobApplication.find(applicationID, on: db),
                    application.outcome == .active,
                    let candidate = try await Candidate.find(application.$candidate.id, on: db),
                    (candidate.lastActiveContactAt ?? .distantPast) < sentAt
                else { return 0 }
                let language = Language(rawValue: candidate.language) ?? .fr
                let queued = try await Composer(db: db, app: app, now: now, company: company).send(
                    .followUp, to: candidate, application: application, job: try await application.$job.get(on: db),
                    extra: [
                        "awaiting": language == .fr ? "notre invitation à un entretien" : "our interview invitation"
                    ],
                    dedupeKey: "followup:\(messageID.lowercasedString)", sendAt: window.nextMoment(from: now))
                guard queued else { return 0 }
                try await Interaction(
                    candidateID: try candidate.requireID(), applicationID: applicationID, actorID: nil,
                    kind: .markedUnresponsive, detail: message.subject, at: now
                ).create(on: db)
                return 1
            }
        }
        return sent
    }

    // MARK: - Satisfaction survey

    /// A day after an application ends (hired, rejected after an interview, withdrawn), the survey — unless the
    /// person received one in the last six months. Ends older than a week are past asking about.
    private func surveys(now: Date, company: Company, window: SendingWindow) async throws -> Int {
        let ended = try await JobApplication.query(on: db)
            .filter(\.$decidedAt <= now - 86_400).filter(\.$decidedAt >= now - 8 * 86_400)
            .group(.or) { group in
                group.filter(\.$outcome ~~ [.hired, .withdrawn])
                group.group(.and) { rejected in
                    rejected.filter(\.$outcome == .rejected)
                        .filter(\.$closingReason == ClosingReason.afterInterview.rawValue)
                }
            }.all()
        var sent = 0
        for application in ended {
            let applicationID = try application.requireID()
            let dedupe = "survey:\(applicationID.lowercasedString)"
            sent += try await db.transaction { db in
                guard try await OutboxMessage.query(on: db).filter(\.$dedupeKey == dedupe).count() == 0,
                    let candidate = try await Candidate.find(application.$candidate.id, on: db),
                    try await OutboxMessage.query(on: db).filter(\.$candidate.$id == candidate.id)
                        .filter(\.$kind == MessageKind.satisfactionSurvey.rawValue)
                        .filter(\.$createdAt >= now - 182 * 86_400).count() == 0
                else { return 0 }
                let token = SignedLink.make(
                    [
                        "survey", applicationID.lowercasedString,
                        application.$job.id?.lowercasedString ?? "", application.outcome.rawValue,
                    ], expires: now + 60 * 86_400, secret: app.config.secret)
                let queued = try await Composer(db: db, app: app, now: now, company: company).send(
                    .satisfactionSurvey, to: candidate, application: application,
                    job: try await application.$job.get(on: db),
                    extra: ["survey_url": app.config.publicURL + SiteURL.survey(token)], dedupeKey: dedupe,
                    sendAt: window.nextMoment(from: now))
                return queued ? 1 : 0
            }
        }
        return sent
    }

    // MARK: - Decision deadlines

    /// In business hours, once a day, each recruiter with applications near or past their decision deadline
    /// receives the list.
    private func digests(now: Date, window: SendingWindow) async throws -> Int {
        guard window.nextMoment(from: now) == now else { return 0 }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = window.timeZone
        let day = calendar.dateComponents([.year, .month, .day], from: now)
        let dayKey = String(format: "%04d-%02d-%02d", day.year!, day.month!, day.day!)
        let users = try await User.query(on: db).filter(\.$active == true).filter(\.$role ~~ [.admin, .recruiter])
            .all()
        var sent = 0
        // Every job's at-risk applications are read once; each recruiter gets those of their jobs.
        var everyJob: [AtRisk.Item]?
        for user in users {
            let dedupe = "digest:\(try user.requireID().lowercasedString):\(dayKey)"
            guard try await OutboxMessage.query(on: db).filter(\.$dedupeKey == dedupe).count() == 0 else { continue }
            if everyJob == nil { everyJob = try await AtRisk.applications(of: nil, on: db, now: now) }
            let jobs = try await AtRisk.jobs(of: user, on: db).map(Set.init)
            let atRisk = everyJob!.filter { jobs?.contains($0.jobID) ?? true }
            guard !atRisk.isEmpty else { continue }
            let message = try AtRisk.digest(atRisk, to: user, from: app.config.mail.from, baseURL: app.config.publicURL)
            if try await Outbox.enqueue(
                message, kind: "decision_digest", dedupeKey: dedupe, transactional: true, candidateID: nil, on: db,
                now: now)
            {
                sent += 1
            }
        }
        return sent
    }
}

/// Applications near or past their decision deadline, for the "waiting too long" list and the digest.
enum AtRisk {
    struct Item: Sendable {
        var applicationID: UUID
        var candidateID: UUID
        var candidate: String
        var job: String
        var jobID: UUID
        var deadline: Date
        var urgency: Decisions.Urgency
    }

    /// The user's at-risk applications: on their jobs (every job for an admin), most overdue first.
    static func applications(for user: User, on db: any Database, now: Date) async throws -> [Item] {
        try await applications(of: jobs(of: user, on: db), on: db, now: now)
    }

    /// The jobs whose applications `user` answers for: nil for an admin (every job).
    static func jobs(of user: User, on db: any Database) async throws -> [UUID]? {
        user.isAdmin
            ? nil : try await JobMember.query(on: db).filter(\.$user.$id == user.requireID()).all().map(\.$job.id)
    }

    /// The at-risk applications of the given jobs (nil: every job), most overdue first.
    static func applications(of jobs: [UUID]?, on db: any Database, now: Date) async throws -> [Item] {
        var query = JobApplication.query(on: db).filter(\.$outcome == .active).filter(\.$job.$id != nil)
            .with(\.$job).with(\.$candidate)
        if let jobs { query = query.filter(\.$job.$id ~~ jobs) }
        return try await query.all().compactMap { application in
            guard let job = application.job else { return nil }
            let urgency = Decisions.urgency(of: application, targetDays: job.responseTargetDays, now: now)
            guard urgency != .ok else { return nil }
            return Item(
                applicationID: try application.requireID(), candidateID: application.$candidate.id,
                candidate: application.candidate.fullName, job: job.title, jobID: try job.requireID(),
                deadline: Decisions.deadline(of: application, targetDays: job.responseTargetDays), urgency: urgency)
        }.sorted { $0.deadline < $1.deadline }
    }

    /// The daily email to a recruiter, in their language.
    static func digest(_ items: [Item], to user: User, from sender: MailAddress, baseURL: String) throws
        -> MailMessage
    {
        let language = Language(rawValue: user.locale) ?? .fr
        let fr = language == .fr
        let past = items.filter { $0.urgency == .past }.count
        var lines = [
            fr ? "Bonjour \(user.name)," : "Hello \(user.name),", "",
            fr
                ? "\(items.count) candidature(s) attendent une décision, dont \(past) au-delà du délai promis :"
                : "\(items.count) application(s) are waiting for a decision, \(past) of them past the deadline:",
            "",
        ]
        for item in items.prefix(100) {
            let state = item.urgency == .past ? (fr ? "EN RETARD" : "OVERDUE") : (fr ? "bientôt" : "soon")
            lines.append(
                "- [\(state)] \(item.candidate) — \(item.job) — \(fr ? "échéance" : "due") \(Dates.day(item.deadline, language))"
            )
            lines.append("  \(baseURL)\(SiteURL.candidate(item.candidateID))")
        }
        lines += ["", (fr ? "La liste complète : " : "The full list: ") + baseURL + SiteURL.waiting]
        let text = lines.joined(separator: "\n")
        return MailMessage(
            from: sender, to: [try MailAddress(user.email, name: user.name)],
            subject: fr
                ? "Vivier — \(items.count) candidature(s) en attente de décision"
                : "Vivier — \(items.count) application(s) awaiting a decision",
            text: text, extraHeaders: [("Auto-Submitted", "auto-generated")])
    }
}

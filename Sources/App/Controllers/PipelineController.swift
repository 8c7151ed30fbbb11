import Fluent
import Vapor
import VivierCore

/// A job's pipeline board and what recruiters do to an application: move it, reject it, record a withdrawal,
/// reopen it.
struct PipelineController {
    struct Card: Encodable {
        var id: String
        var name: String
        var candidateURL: String
        var since: String
        var days: Int
        var late: Bool
        var source: String
        var action: String
        /// ok, near or past the decision deadline.
        var urgency: String
        /// "No news for N days" when the candidate heard nothing for the company's delay.
        var noNews: String?
        var active: Bool
    }

    struct Column: Encodable {
        var id: String
        var name: String
        var kind: String
        var cards: [Card]
        var count: Int
    }

    struct StageOption: Encodable {
        var id: String
        var name: String
    }

    struct BoardContent: Encodable {
        var job: String
        var jobID: String
        var editURL: String
        var columns: [Column]
        var stages: [StageOption]
        var rejected: Int
        var withdrawn: Int
        var closedURL: String
        var matchURL: String
        var responseTargetDays: Int
        var bulkAction: String
        var rejectionReasons: [Choice]
        var delays: [Choice]
    }

    @Sendable func board(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let job = try await access.job(req.uuidParameter("id"), on: req.db)
        let jobID = try job.requireID()
        let stages = try await Stage.query(on: req.db).filter(\.$job.$id == jobID).sort(\.$position).all()
        let applications = try await JobApplication.query(on: req.db).filter(\.$job.$id == jobID).with(\.$candidate)
            .sort(\.$stageEnteredAt).all()
        let now = req.now
        let company = try await Company.load(on: req.db)
        let lastNews = try await Scheduler.lastNews(on: req.db, jobID: jobID)
        let columns = try stages.map { stage in
            let stageID = try stage.requireID()
            let cards = try applications.filter {
                $0.$stage.id == stageID && $0.outcome == .active || ($0.$stage.id == stageID && $0.outcome == .hired)
            }.map { application in
                let days = Int(now.timeIntervalSince(application.stageEnteredAt) / 86_400)
                let id = try application.requireID()
                let silentDays = lastNews[id].map { Int(now.timeIntervalSince($0) / 86_400) } ?? 0
                return Card(
                    id: id.lowercasedString, name: application.candidate.fullName,
                    candidateURL: SiteURL.candidate(try application.candidate.requireID()),
                    since: Dates.short(application.stageEnteredAt, req.language), days: days,
                    late: stage.kind == .new && days >= job.responseTargetDays,
                    source: req.t("source.\(application.source.rawValue)"),
                    action: SiteURL.application(id) + "/move",
                    urgency: Decisions.urgency(of: application, targetDays: job.responseTargetDays, now: now).rawValue,
                    noNews: silentDays >= company.noNewsDays && application.outcome == .active
                        ? String(format: req.t("board.no_news"), silentDays) : nil,
                    active: application.outcome == .active)
            }
            return Column(
                id: stageID.lowercasedString, name: stage.name(in: req.language), kind: stage.kind.rawValue,
                cards: cards, count: cards.count)
        }
        let content = BoardContent(
            job: job.title, jobID: jobID.lowercasedString, editURL: SiteURL.editJob(jobID), columns: columns,
            stages: try stages.map {
                StageOption(id: try $0.requireID().lowercasedString, name: $0.name(in: req.language))
            },
            rejected: applications.filter { $0.outcome == .rejected }.count,
            withdrawn: applications.filter { $0.outcome == .withdrawn }.count,
            closedURL: SiteURL.candidates + "?job=\(jobID.lowercasedString)&outcome=closed",
            matchURL: SiteURL.jobMatch(jobID),
            responseTargetDays: job.responseTargetDays,
            bulkAction: SiteURL.jobs + "/\(jobID.lowercasedString)/reject",
            rejectionReasons: ClosingReason.rejection.map {
                Choice(value: $0.rawValue, label: req.t("reason.\($0.rawValue)"), selected: false)
            },
            delays: Self.rejectionDelays.map {
                Choice(value: String($0), label: req.t("reject.delay_\($0)"), selected: $0 == 0)
            })
        return try await req.page("app/board", title: "\(req.t("board.title")) · \(job.title)", content)
    }

    struct MoveForm: Content {
        var stage_id: String
        var back: String?
    }

    @Sendable func move(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let application = try await access.application(req.uuidParameter("id"), on: req.db)
        let form = try req.content.decode(MoveForm.self)
        guard let stageID = UUID(uuidString: form.stage_id), let target = try await Stage.find(stageID, on: req.db),
            target.$job.id == application.$job.id
        else { throw Abort(.unprocessableEntity, reason: req.t("error.stage_unknown")) }
        guard application.outcome == .active || application.outcome == .hired else {
            throw Abort(.conflict, reason: req.t("error.application_closed"))
        }
        try await Self.move(application, to: target, by: access.user, on: req.db, now: req.now, language: req.language)
        return req.redirect(to: back(form.back, application), flash: "flash.moved")
    }

    /// Moves an open (or hired) application to `target`, a stage of its job, and notes it on the timeline; the hired
    /// stage closes it as hired, leaving that stage reopens it.
    static func move(
        _ application: JobApplication, to target: Stage, by user: User?, on db: any Database, now: Date,
        language: Language
    ) async throws {
        let previous = try await application.$stage.get(on: db)
        guard previous?.id != target.id else { return }
        try await db.writeTransaction { db in
            application.$stage.id = try target.requireID()
            application.stageEnteredAt = now
            if target.kind == .hired {
                application.outcome = .hired
                application.decidedAt = now
            } else if application.outcome == .hired {
                application.outcome = .active
                application.decidedAt = nil
            }
            try await application.save(on: db)
            try await Interaction(
                candidateID: application.$candidate.id, applicationID: application.id, actorID: user?.id,
                kind: .stageChanged,
                detail: "\(previous?.name(in: language) ?? "—") → \(target.name(in: language))", at: now
            ).create(on: db)
            try await Webhooks.emit(.stageChanged, application: application, on: db, now: now)
            if target.kind == .hired { try await Webhooks.emit(.hired, application: application, on: db, now: now) }
        }
    }

    struct CloseForm: Content {
        var reason: String
        var back: String?
        /// Present when "tell the candidate" is ticked (the default).
        var notify: String?
        /// The recruiter's own sentence, added to the template.
        var note: String?
        /// Minutes to hold the message before the business-hours rule (e.g. not right after an interview).
        var delay: String?
        /// Bulk rejection: the selected applications.
        var ids: [String]?
    }

    /// Delays a recruiter may choose before a rejection leaves, in minutes.
    static let rejectionDelays = [0, 60, 240, 1440]

    @Sendable func reject(req: Request) async throws -> Response {
        try await close(req, outcome: .rejected, allowed: ClosingReason.rejection)
    }

    @Sendable func withdraw(req: Request) async throws -> Response {
        try await close(req, outcome: .withdrawn, allowed: ClosingReason.withdrawal)
    }

    /// The decision, checked: a reason from `allowed`, a short note, a known delay.
    private func decision(_ form: CloseForm, allowed: [ClosingReason], _ req: Request) throws
        -> (reason: ClosingReason, note: String, delay: TimeInterval)
    {
        guard let reason = ClosingReason(rawValue: form.reason), allowed.contains(reason) else {
            throw Abort(.unprocessableEntity, reason: req.t("error.reason_required"))
        }
        let note = (form.note ?? "").trimmed
        guard note.count <= 1000 else { throw Abort(.unprocessableEntity, reason: req.t("error.too_long")) }
        guard let minutes = Int(form.delay ?? "0"), Self.rejectionDelays.contains(minutes) else {
            throw Abort(.unprocessableEntity, reason: req.t("error.choose"))
        }
        return (reason, note, TimeInterval(minutes * 60))
    }

    private func close(_ req: Request, outcome: ApplicationOutcome, allowed: [ClosingReason]) async throws -> Response {
        let access = try await Access.of(req)
        let application = try await access.application(req.uuidParameter("id"), on: req.db)
        let form = try req.content.decode(CloseForm.self)
        let decision = try decision(form, allowed: allowed, req)
        guard application.outcome == .active else { throw Abort(.conflict, reason: req.t("error.application_closed")) }
        try await req.db.transaction { db in
            try await Self.close(
                application, outcome: outcome, decision: decision, notify: form.notify != nil, by: access.user,
                composer: Composer(db: db, app: req.application, now: req.now))
        }
        return req.redirect(
            to: back(form.back, application), flash: outcome == .rejected ? "flash.rejected" : "flash.withdrawn")
    }

    /// Rejects the applications ticked on a job's board, with one reason and one note: all or none.
    @Sendable func bulkReject(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let job = try await access.job(req.uuidParameter("id"), on: req.db)
        let jobID = try job.requireID()
        let form = try req.content.decode(CloseForm.self)
        let decision = try decision(form, allowed: ClosingReason.rejection, req)
        let ids = (form.ids ?? []).compactMap { UUID(uuidString: $0) }
        guard !ids.isEmpty, ids.count == (form.ids ?? []).count, ids.count <= 1000 else {
            return req.redirect(to: SiteURL.board(jobID), flash: "flash.select_applications", kind: .error)
        }
        let count = try await req.db.transaction { db in
            let applications = try await JobApplication.query(on: db).filter(\.$id ~~ ids)
                .filter(\.$job.$id == jobID).filter(\.$outcome == .active).all()
            let composer = try await Composer(db: db, app: req.application, now: req.now).loadingCompany()
            for application in applications {
                try await Self.close(
                    application, outcome: .rejected, decision: decision, notify: form.notify != nil, by: access.user,
                    composer: composer)
            }
            return applications.count
        }
        return req.redirect(
            to: SiteURL.board(jobID), flash: "flash.bulk_rejected|\(count)")
    }

    /// Closes one application inside the caller's transaction, notes it on the timeline, and queues the
    /// candidate's message (unless the recruiter unticked it, e.g. for spam). `user` is nil when the candidate
    /// withdrew from the portal.
    static func close(
        _ application: JobApplication, outcome: ApplicationOutcome,
        decision: (reason: ClosingReason, note: String, delay: TimeInterval), notify: Bool, by user: User?,
        composer: Composer
    ) async throws {
        let db = composer.db
        application.outcome = outcome
        application.closingReason = decision.reason.rawValue
        application.decidedAt = composer.now
        try await application.save(on: db)
        try await Interaction(
            candidateID: application.$candidate.id, applicationID: application.id, actorID: user?.id,
            kind: outcome == .rejected ? .rejected : .withdrawn, detail: decision.reason.rawValue, at: composer.now
        ).create(on: db)
        if outcome == .rejected {
            try await Webhooks.emit(.rejected, application: application, on: db, now: composer.now)
        }
        if outcome == .rejected && notify {
            try await Rejection.queue(
                for: application, reason: decision.reason, personalNote: decision.note, delay: decision.delay,
                composer: composer)
        }
    }

    struct BackForm: Content {
        var back: String?
    }

    @Sendable func reopen(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let application = try await access.application(req.uuidParameter("id"), on: req.db)
        let form = try req.content.decode(BackForm.self)
        guard application.outcome == .rejected || application.outcome == .withdrawn else {
            throw Abort(.conflict, reason: req.t("error.application_open"))
        }
        try await req.db.transaction { db in
            application.outcome = .active
            application.closingReason = nil
            application.decidedAt = nil
            try await application.save(on: db)
            try await Interaction(
                candidateID: application.$candidate.id, applicationID: application.id, actorID: access.user.id,
                kind: .reopened,
                detail: "", at: req.now
            ).create(on: db)
        }
        return req.redirect(to: back(form.back, application), flash: "flash.reopened")
    }

    /// Where to go after an action: the page the form came from when it is ours, else the candidate.
    private func back(_ path: String?, _ application: JobApplication) -> String {
        if let path, path.hasPrefix("/app/"), !path.hasPrefix("//") { return path }
        return SiteURL.candidate(application.$candidate.id)
    }
}

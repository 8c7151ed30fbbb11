import Fluent
import Vapor
import VivierAPI
import VivierCore

extension APIService {
    func listApplications(_ input: Operations.ListApplications.Input) async throws
        -> Operations.ListApplications.Output
    {
        let (req, _) = try context
        let paging = try Paging(cursor: input.query.cursor, limit: input.query.limit)
        var query = JobApplication.query(on: req.db)
        if let raw = input.query.jobId {
            guard let id = UUID(uuidString: raw) else { throw Problem.invalid("query.job_id", "Not a UUID.") }
            query = query.filter(\.$job.$id == id)
        }
        if let raw = input.query.candidateId {
            guard let id = UUID(uuidString: raw) else { throw Problem.invalid("query.candidate_id", "Not a UUID.") }
            query = query.filter(\.$candidate.$id == id)
        }
        if let outcome = input.query.outcome {
            query = query.filter(\.$outcome == ApplicationOutcome(rawValue: outcome.rawValue)!)
        }
        let (applications, next) = try paging.split(try await paging.apply(query).all(), date: \.createdAt)
        return .ok(.init(body: .json(.init(data: try applications.map(Self.application), nextCursor: next))))
    }

    func getApplication(_ input: Operations.GetApplication.Input) async throws -> Operations.GetApplication.Output {
        let (req, _) = try context
        return .ok(.init(body: .json(try Self.application(try await findApplication(input.path.applicationId, req)))))
    }

    func createApplication(_ input: Operations.CreateApplication.Input) async throws
        -> Operations.CreateApplication.Output
    {
        let (req, _) = try context
        guard case .json(let new) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        let person = ApplicantInput(
            firstName: new.candidate.firstName, lastName: new.candidate.lastName, email: new.candidate.email,
            phone: new.candidate.phone ?? "", coverLetter: new.coverLetter ?? "")
        var check = Validation()
        Self.person(person, at: "body.candidate", into: &check, req)
        check.text(new.sourceDetail, "body.source_detail", max: 100)
        var job: Job?
        if let raw = new.jobId {
            if let id = UUID(uuidString: raw), let found = try await Job.find(id, on: req.db) {
                if found.status == .open { job = found } else { check.fail("body.job_id", "This job is not open.") }
            } else {
                check.fail("body.job_id", "No job has this id.")
            }
        }
        try check.check()
        let config = req.application.config
        let intake = Intake(
            db: req.db, blobs: req.application.blobs, now: req.now,
            acknowledge: new.acknowledge == false ? nil : (config, req.application.shippedTemplates))
        let outcome = try await intake.submit(
            .init(
                input: person, job: job, cv: nil,
                consents: Set((new.consents ?? []).compactMap { ConsentPurpose(rawValue: $0.rawValue) }),
                source: JobApplication.Source(rawValue: new.source?.rawValue ?? "api") ?? .api,
                sourceDetail: (new.sourceDetail ?? "").trimmed, submissionToken: nil,
                language: Language(rawValue: new.candidate.language?.rawValue ?? "") ?? job.flatMap {
                    Language(rawValue: $0.language)
                } ?? .fr,
                channel: .api))
        guard case .created(let application) = outcome else {
            throw Problem(.conflict, "This application was already received.")
        }
        return .created(.init(body: .json(try Self.application(application))))
    }

    func moveApplication(_ input: Operations.MoveApplication.Input) async throws -> Operations.MoveApplication.Output {
        let (req, token) = try context
        guard case .json(let body) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        let application = try await findApplication(input.path.applicationId, req)
        guard let stageID = UUID(uuidString: body.stageId), let target = try await Stage.find(stageID, on: req.db),
            target.$job.id == application.$job.id
        else { throw Problem.invalid("body.stage_id", "Not a stage of this application's job.") }
        guard application.outcome == .active || application.outcome == .hired else {
            throw Problem(.conflict, "This application is closed (\(application.outcome.rawValue)); it cannot move.")
        }
        try await PipelineController.move(
            application, to: target, by: try await actor(token, on: req.db), on: req.db, now: req.now, language: .en)
        return .ok(.init(body: .json(try Self.application(application))))
    }

    func rejectApplication(_ input: Operations.RejectApplication.Input) async throws
        -> Operations.RejectApplication.Output
    {
        let (req, token) = try context
        guard case .json(let body) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        let application = try await findApplication(input.path.applicationId, req)
        var check = Validation()
        check.text(body.note, "body.note", max: 1000)
        try check.check()
        guard application.outcome == .active else {
            throw Problem(.conflict, "This application is already closed (\(application.outcome.rawValue)).")
        }
        let reason = ClosingReason(rawValue: body.reason.rawValue)!
        let actor = try await actor(token, on: req.db)
        let app = req.application, now = req.now
        try await req.db.writeTransaction { db in
            try await PipelineController.close(
                application, outcome: .rejected, decision: (reason, (body.note ?? "").trimmed, 0),
                notify: body.notify ?? true, by: actor, composer: Composer(db: db, app: app, now: now))
        }
        return .ok(.init(body: .json(try Self.application(application))))
    }

    func listInterviews(_ input: Operations.ListInterviews.Input) async throws -> Operations.ListInterviews.Output {
        let (req, _) = try context
        let application = try await findApplication(input.path.applicationId, req)
        let interviews = try await Interview.query(on: req.db).filter(\.$application.$id == application.requireID())
            .sort(\.$startsAt).all()
        return .ok(.init(body: .json(.init(data: try interviews.map(Self.interview)))))
    }

    func scheduleInterview(_ input: Operations.ScheduleInterview.Input) async throws
        -> Operations.ScheduleInterview.Output
    {
        let (req, token) = try context
        guard case .json(let new) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        let application = try await findApplication(input.path.applicationId, req)
        var check = Validation()
        if new.startsAt <= req.now { check.fail("body.starts_at", "Must be in the future.") }
        if !(10...480).contains(new.durationMinutes) { check.fail("body.duration_minutes", "Between 10 and 480.") }
        let zoneName = new.timeZone ?? "Europe/Paris"
        if TimeZone(identifier: zoneName) == nil || zoneName.count > 64 {
            check.fail("body.time_zone", "Not an IANA time zone (e.g. Europe/Paris).")
        }
        check.text(new.location, "body.location", max: 200)
        check.text(new.interviewers, "body.interviewers", max: 200)
        let video = (new.videoUrl ?? "").trimmed
        if !video.isEmpty {
            if video.count > 500 || URL(string: video)?.scheme != "https" || URL(string: video)?.host == nil
                || video.contains(where: \.isWhitespace)
            {
                check.fail("body.video_url", "Must be an https link.")
            }
        }
        if (new.location ?? "").trimmed.isEmpty && video.isEmpty {
            check.fail("body.location", "Give a place or a video link.")
        }
        try check.check()
        guard application.outcome == .active else {
            throw Problem(.conflict, "This application is closed (\(application.outcome.rawValue)).")
        }
        let interview = Interview(
            applicationID: try application.requireID(), uid: "interview-\(UUID().lowercasedString)@vivier")
        interview.startsAt = new.startsAt
        interview.timeZone = zoneName
        interview.durationMinutes = new.durationMinutes
        interview.location = (new.location ?? "").trimmed
        interview.videoURL = video
        interview.interviewers = (new.interviewers ?? "").trimmed
        try await InterviewController.store(
            interview, detail: "interview: \(Dates.dayTime(interview.startsAt, .en))",
            by: try await actor(token, on: req.db), app: req.application, now: req.now)
        return .created(.init(body: .json(try Self.interview(interview))))
    }

    func findApplication(_ raw: String, _ req: Request) async throws -> JobApplication {
        guard let application = try await JobApplication.find(try Self.id(raw, "application"), on: req.db) else {
            throw Problem.notFound("application")
        }
        return application
    }

    static func application(_ application: JobApplication) throws -> Components.Schemas.Application {
        .init(
            id: try application.requireID().api, candidateId: application.$candidate.id.api,
            jobId: application.$job.id?.api, stageId: application.$stage.id?.api,
            outcome: .init(rawValue: application.outcome.rawValue)!, closingReason: application.closingReason,
            source: .init(rawValue: application.source.rawValue)!, sourceDetail: application.sourceDetail,
            createdAt: application.createdAt ?? application.stageEnteredAt,
            stageEnteredAt: application.stageEnteredAt, decidedAt: application.decidedAt)
    }

    static func interview(_ interview: Interview) throws -> Components.Schemas.Interview {
        .init(
            id: try interview.requireID().api, applicationId: interview.$application.id.api,
            status: .init(rawValue: interview.status.rawValue)!, startsAt: interview.startsAt,
            durationMinutes: interview.durationMinutes, timeZone: interview.timeZone, location: interview.location,
            videoUrl: interview.videoURL, interviewers: interview.interviewers, sequence: interview.sequence)
    }
}

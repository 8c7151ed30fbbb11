import Fluent
import Vapor
import VivierAPI
import VivierCore

extension APIService {
    func listJobs(_ input: Operations.ListJobs.Input) async throws -> Operations.ListJobs.Output {
        let (req, _) = try context
        let paging = try Paging(cursor: input.query.cursor, limit: input.query.limit, newestFirst: true)
        var query = Job.query(on: req.db)
        if let status = input.query.status { query = query.filter(\.$status == Job.Status(rawValue: status.rawValue)!) }
        let (jobs, next) = try paging.split(try await paging.apply(query).all(), date: \.createdAt)
        return .ok(.init(body: .json(.init(data: try jobs.map { try job($0, req) }, nextCursor: next))))
    }

    func getJob(_ input: Operations.GetJob.Input) async throws -> Operations.GetJob.Output {
        let (req, _) = try context
        return .ok(.init(body: .json(try job(try await findJob(input.path.jobId, req), req))))
    }

    func listStages(_ input: Operations.ListStages.Input) async throws -> Operations.ListStages.Output {
        let (req, _) = try context
        let job = try await findJob(input.path.jobId, req)
        let stages = try await Stage.query(on: req.db).filter(\.$job.$id == job.requireID()).sort(\.$position).all()
        return .ok(.init(body: .json(.init(data: try stages.map(Self.stage)))))
    }

    func createJob(_ input: Operations.CreateJob.Input) async throws -> Operations.CreateJob.Output {
        let (req, token) = try context
        guard case .json(let new) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        var check = Validation()
        check.text(new.title, "body.title", min: 1, max: 200)
        check.text(new.department, "body.department", max: 200)
        check.text(new.location, "body.location", max: 200)
        check.text(new.description, "body.description", max: 50_000)
        if let days = new.responseTargetDays, !(1...90).contains(days) {
            check.fail("body.response_target_days", "Between 1 and 90.")
        }
        try check.check()
        let author = try await actor(token, on: req.db)
        let now = req.now
        let created = try await req.db.writeTransaction { db -> Job in
            let job = Job(
                title: new.title.trimmed,
                slug: try await JobsController.uniqueSlug(for: new.title, excluding: nil, on: db),
                department: new.department?.trimmed ?? "", location: new.location?.trimmed ?? "",
                contractType: Job.Contract(rawValue: new.contractType?.rawValue ?? "cdi")!,
                remotePolicy: Job.Remote(rawValue: new.remotePolicy?.rawValue ?? "onsite")!,
                description: (new.description ?? "").replacingOccurrences(of: "\r\n", with: "\n"),
                language: Language(rawValue: new.language?.rawValue ?? "fr")!,
                status: new.status == .open ? .open : .draft, responseTargetDays: new.responseTargetDays ?? 14)
            if job.status == .open { job.publishedAt = now }
            try await job.create(on: db)
            let jobID = try job.requireID()
            let template = try await PipelineTemplateStage.query(on: db).sort(\.$position).all()
            for (position, stage) in template.enumerated() {
                try await Stage(jobID: jobID, position: position, template: stage.template).create(on: db)
            }
            if let author, let userID = author.id { try await JobMember(jobID: jobID, userID: userID).create(on: db) }
            return job
        }
        return .created(.init(body: .json(try job(created, req))))
    }

    func findJob(_ raw: String, _ req: Request) async throws -> Job {
        guard let job = try await Job.find(try Self.id(raw, "job"), on: req.db) else { throw Problem.notFound("job") }
        return job
    }

    func job(_ job: Job, _ req: Request) throws -> Components.Schemas.Job {
        Components.Schemas.Job(
            id: try job.requireID().api, title: job.title, slug: job.slug, department: job.department,
            location: job.location, contractType: .init(rawValue: job.contractType.rawValue)!,
            remotePolicy: .init(rawValue: job.remotePolicy.rawValue)!, description: job.description,
            language: .init(rawValue: job.language) ?? .fr, status: .init(rawValue: job.status.rawValue)!,
            responseTargetDays: job.responseTargetDays, createdAt: job.createdAt ?? .distantPast,
            publishedAt: job.publishedAt,
            url: job.status == .open ? req.application.config.publicURL + SiteURL.job(job.slug) : nil)
    }

    static func stage(_ stage: Stage) throws -> Components.Schemas.Stage {
        .init(
            id: try stage.requireID().api, position: stage.position, nameFr: stage.nameFR, nameEn: stage.nameEN,
            kind: .init(rawValue: stage.kind.rawValue)!)
    }
}

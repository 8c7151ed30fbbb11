import Fluent
import Vapor

/// Who may see which job (ASVS 8.2): admins and recruiters see every job, hiring managers only those they are
/// assigned to. Every query for jobs, applications and candidates in the back office goes through here, and an
/// object outside a user's reach answers 404, exactly like one that does not exist (no IDOR oracle).
struct Access {
    let user: User
    /// nil: every job.
    let jobIDs: Set<UUID>?

    static func of(_ req: Request) async throws -> Access {
        let user = try req.requireUser()
        if user.seesAllJobs { return Access(user: user, jobIDs: nil) }
        let ids = try await JobMember.query(on: req.db).filter(\.$user.$id == user.requireID()).all().map(\.$job.id)
        return Access(user: user, jobIDs: Set(ids))
    }

    func canSee(jobID: UUID?) -> Bool {
        guard let jobIDs else { return true }
        guard let jobID else { return false }
        return jobIDs.contains(jobID)
    }

    func job(_ id: UUID?, on db: any Database) async throws -> Job {
        guard let id, canSee(jobID: id), let job = try await Job.find(id, on: db) else { throw Abort(.notFound) }
        return job
    }

    /// The jobs the user sees, by title.
    func jobs(on db: any Database) async throws -> [Job] {
        var query = Job.query(on: db).sort(\.$title)
        if let jobIDs { query = query.filter(\.$id ~~ Array(jobIDs)) }
        return try await query.all()
    }

    func application(_ id: UUID?, on db: any Database) async throws -> JobApplication {
        guard let id, let application = try await JobApplication.find(id, on: db), canSee(jobID: application.$job.id)
        else {
            throw Abort(.notFound)
        }
        return application
    }

    /// A candidate is visible when the user sees all jobs, or sees a job the candidate applied to.
    func candidate(_ id: UUID?, on db: any Database) async throws -> Candidate {
        guard let id, let candidate = try await Candidate.find(id, on: db), candidate.$mergedInto.id == nil else {
            throw Abort(.notFound)
        }
        if let jobIDs {
            let visible = try await JobApplication.query(on: db).filter(\.$candidate.$id == id).filter(
                \.$job.$id ~~ Array(jobIDs)
            ).count()
            guard visible > 0 else { throw Abort(.notFound) }
        }
        return candidate
    }
}

extension Request {
    func uuidParameter(_ name: String) -> UUID? {
        parameters.get(name).flatMap(UUID.init(uuidString:))
    }
}

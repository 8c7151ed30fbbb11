import Fluent
import SQLKit
import Vapor
import VivierCore

/// The first page after login: a few counts that say where attention is needed. The full indicators come later.
struct DashboardController {
    struct Content: Encodable {
        var openJobs: Int
        var activeApplications: Int
        var newThisWeek: Int
        var waitingPastTarget: Int
        var candidates: Int
        var jobs: [JobsController.Row]
    }

    @Sendable func show(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        var jobs = Job.query(on: req.db).filter(\.$status == .open).sort(\.$title)
        if let ids = access.jobIDs { jobs = jobs.filter(\.$id ~~ Array(ids)) }
        let openJobs = try await jobs.all()
        func applications() -> QueryBuilder<JobApplication> {
            var query = JobApplication.query(on: req.db).filter(\.$outcome == .active)
            if let ids = access.jobIDs { query = query.filter(\.$job.$id ~~ Array(ids)) }
            return query
        }
        let active = try await applications().count()
        let recent = try await applications().filter(\.$createdAt >= req.now - 7 * 86_400).count()
        // Waiting in a `new` stage longer than their job's response target.
        let waiting = try await applications().join(Stage.self, on: \JobApplication.$stage.$id == \Stage.$id).filter(
            Stage.self, \.$kind == .new
        )
        .join(Job.self, on: \JobApplication.$job.$id == \Job.$id).all()
        .filter { application in
            let job = try? application.joined(Job.self)
            return req.now.timeIntervalSince(application.stageEnteredAt) > Double(job?.responseTargetDays ?? 14)
                * 86_400
        }.count
        let candidates: Int
        if let ids = access.jobIDs {
            candidates =
                Set(
                    try await JobApplication.query(on: req.db).filter(\.$job.$id ~~ Array(ids)).all().map(
                        \.$candidate.id)
                ).count
        } else {
            candidates = try await Candidate.query(on: req.db).filter(\.$mergedInto.$id == nil).count()
        }
        var rows: [JobsController.Row] = []
        for job in openJobs {
            let id = try job.requireID()
            let count = try await applications().filter(\.$job.$id == id).count()
            rows.append(
                .init(
                    title: job.title, department: job.department, location: job.location, status: req.t("status.open"),
                    statusKey: "open",
                    active: count, boardURL: SiteURL.board(id), editURL: SiteURL.editJob(id),
                    publicURL: SiteURL.job(job.slug)))
        }
        return try await req.page(
            "app/dashboard", title: req.t("dashboard.title"),
            Content(
                openJobs: openJobs.count, activeApplications: active, newThisWeek: recent, waitingPastTarget: waiting,
                candidates: candidates, jobs: rows))
    }
}

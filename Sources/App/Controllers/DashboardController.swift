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
        // Counted by the database, whatever the number of applications: waiting in a `new` stage longer than their
        // job's response target, and the people who applied (to the user's jobs).
        let mine: SQLQueryString =
            access.jobIDs.map { $0.isEmpty ? " AND 1 = 0" : " AND a.job_id IN (\(binds: Array($0)))" } ?? ""
        let sql = req.db.sql()
        let waiting =
            try await sql.raw(
                """
                SELECT COUNT(*) AS n FROM applications a JOIN jobs j ON j.id = a.job_id JOIN stages s ON s.id = a.stage_id
                WHERE a.outcome = 'active' AND s.kind = 'new' AND a.stage_entered_at < \(Indicators.moment(
                    req.now, minusDays: "COALESCE(j.response_target_days, 14)", postgres: req.db.isPostgres))\(mine)
                """
            ).first(decoding: Indicators.Count.self)?.n ?? 0
        let candidates =
            try await sql.raw(
                access.jobIDs == nil
                    ? "SELECT COUNT(*) AS n FROM candidates WHERE merged_into_id IS NULL"
                    : "SELECT COUNT(DISTINCT a.candidate_id) AS n FROM applications a WHERE 1 = 1\(mine)"
            ).first(decoding: Indicators.Count.self)?.n ?? 0
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

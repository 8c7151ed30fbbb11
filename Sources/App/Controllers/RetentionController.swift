import Fluent
import Vapor
import VivierCore

/// The retention page for admins (the policy, what expires soon, what was anonymised) and the candidate's
/// one-click "keep my profile" from the renewal notice.
struct RetentionController {
    struct Content: Encodable {
        var values: [String: String]
        var errors: [String: String]
        var report: Retention.Report
        var anonymisedTotal: Int
        var anonymisedLast30Days: Int
        var upcoming: [Upcoming]
    }

    struct Upcoming: Encodable {
        var url: String
        var name: String
        var expiry: String
    }

    struct Form: Vapor.Content {
        var unsuccessful_months: String?
        var consented_months: String?
        var notice_days: String?
        var grace_days: String?
        var hired_months: String?
    }

    private func values(_ policy: RetentionPolicy) -> [String: String] {
        [
            "unsuccessful_months": String(policy.unsuccessfulMonths),
            "consented_months": String(policy.consentedMonths), "notice_days": String(policy.noticeDays),
            "grace_days": String(policy.graceDays), "hired_months": String(policy.hiredMonths),
        ]
    }

    @Sendable func show(req: Request) async throws -> Response {
        try await render(req, values: values(try await RetentionPolicy.load(on: req.db)), errors: [:])
    }

    private func render(_ req: Request, values: [String: String], errors: [String: String], status: HTTPStatus = .ok)
        async throws -> Response
    {
        let retention = Retention(app: req.application, now: req.now)
        let dues = try await retention.expiries(try await RetentionPolicy.load(on: req.db))
        let report = try await retention.run(dryRun: true, dues: dues)
        let soon = dues.filter { $0.expiry <= req.now + 30 * 86_400 }.sorted { $0.expiry < $1.expiry }.prefix(50)
        let erased = Interaction.query(on: req.db).filter(\.$kind == .erased).filter(\.$detail == "retention")
        return try await req.page(
            "app/retention", title: req.t("retention.title"), status: status,
            Content(
                values: values, errors: errors, report: report, anonymisedTotal: try await erased.count(),
                anonymisedLast30Days: try await Interaction.query(on: req.db).filter(\.$kind == .erased)
                    .filter(\.$detail == "retention").filter(\.$createdAt >= req.now - 30 * 86_400).count(),
                upcoming: soon.map {
                    Upcoming(url: SiteURL.candidate($0.id), name: $0.name, expiry: Dates.day($0.expiry, req.language))
                }))
    }

    @Sendable func save(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        var policy = RetentionPolicy()
        var raw: [String: String] = [:]
        var errors: [String: String] = [:]
        req.formNumber(
            "unsuccessful_months", form.unsuccessful_months, 1...24, into: &policy.unsuccessfulMonths, raw: &raw,
            errors: &errors)
        req.formNumber(
            "consented_months", form.consented_months, 1...36, into: &policy.consentedMonths, raw: &raw, errors: &errors
        )
        req.formNumber("notice_days", form.notice_days, 7...90, into: &policy.noticeDays, raw: &raw, errors: &errors)
        req.formNumber("grace_days", form.grace_days, 1...30, into: &policy.graceDays, raw: &raw, errors: &errors)
        req.formNumber(
            "hired_months", form.hired_months, 0...120, into: &policy.hiredMonths, raw: &raw, errors: &errors)
        guard errors.isEmpty else {
            return try await render(req, values: raw, errors: errors, status: .unprocessableEntity)
        }
        try await policy.save(on: req.db)
        try await req.audit(
            .settingsChanged, target: "settings:retention",
            detail: raw.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        return req.redirect(to: SiteURL.retention, flash: "flash.retention_saved")
    }

    // MARK: - "Keep my profile"

    struct KeepContent: Encodable {
        var action: String
    }

    private func open(_ req: Request) async throws -> Result<(UUID, String), LinkProblem> {
        let token = req.parameters.get("token") ?? ""
        switch try await SignedLink.openOnce(
            token, kind: "keep", count: 2, secret: req.application.config.secret, now: req.now, on: req.db)
        {
        case .failure(let problem): return .failure(problem)
        case .success(let fields):
            guard let id = UUID(uuidString: fields[1]), let candidate = try await Candidate.find(id, on: req.db),
                candidate.erasedAt == nil
            else { return .failure(.expired) }
            return .success((id, token))
        }
    }

    /// A GET (a mail scanner following links) shows a button and changes nothing.
    @Sendable func keepPage(req: Request) async throws -> Response {
        switch try await open(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (_, token)):
            return try await req.page(
                "portal/keep", title: req.t("keep.title"), KeepContent(action: SiteURL.keep(token)))
        }
    }

    @Sendable func keep(req: Request) async throws -> Response {
        switch try await open(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (id, token)):
            do {
                try await req.db.transaction { db in
                    try await UsedToken(tokenHash: Tokens.hash(token), at: req.now).create(on: db)
                    try await Retention.keep(id, language: req.language, on: db, now: req.now)
                }
            } catch let error as any DatabaseError where error.isConstraintFailure {
                return try await LinkProblem.page(.used, req)
            }
            return try await req.page("portal/keep_done", title: req.t("keep.done_title"), KeepContent(action: ""))
        }
    }
}

import Fluent
import Vapor
import VivierCore

/// Jobs in the back office: list, create, edit, publish, close.
struct JobsController {
    struct Row: Encodable {
        var title: String
        var department: String
        var location: String
        var status: String
        var statusKey: String
        var active: Int
        var boardURL: String
        var editURL: String
        var publicURL: String?
    }

    struct ListContent: Encodable {
        var jobs: [Row]
        var canManage: Bool
        var count: Int
    }

    @Sendable func list(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        var query = Job.query(on: req.db).sort(\.$status).sort(\.$title)
        if let ids = access.jobIDs { query = query.filter(\.$id ~~ Array(ids)) }
        let jobs = try await query.all()
        let counts = try await activeCounts(on: req.db)
        let rows = try jobs.map { job in
            let id = try job.requireID()
            return Row(
                title: job.title, department: job.department, location: job.location,
                status: req.t("status.\(job.status.rawValue)"),
                statusKey: job.status.rawValue, active: counts[id] ?? 0, boardURL: SiteURL.board(id),
                editURL: SiteURL.editJob(id),
                publicURL: job.status == .open ? SiteURL.job(job.slug) : nil)
        }
        return try await req.page(
            "app/jobs", title: req.t("jobs.title"),
            ListContent(jobs: rows, canManage: access.user.canManage, count: rows.count))
    }

    private func activeCounts(on db: any Database) async throws -> [UUID: Int] {
        struct Count: Decodable {
            var job_id: UUID
            var count: Int
        }
        let rows = try await db.sql().raw(
            """
            SELECT job_id, COUNT(*) AS count FROM applications WHERE outcome = 'active' AND job_id IS NOT NULL GROUP BY job_id
            """
        ).all(decoding: Count.self)
        return Dictionary(rows.map { ($0.job_id, $0.count) }, uniquingKeysWith: +)
    }

    // MARK: - Form

    struct FormContent: Encodable {
        var action: String
        var isNew: Bool
        var values: [String: String]
        var errors: [String: String]
        var contracts: [Choice]
        var remotes: [Choice]
        var languages: [Choice]
        var members: [Member]
        var status: String?
        var statusKey: String?
        var statusAction: String?
        var publicURL: String?
    }

    struct Member: Encodable {
        var id: String
        var label: String
        var checked: Bool
    }

    struct JobForm: Content {
        var title: String?
        var department: String?
        var location: String?
        var contract_type: String?
        var remote_policy: String?
        var description: String?
        var language: String?
        var response_target_days: String?
        var auto_updates: String?
        var members: [String]?
    }

    @Sendable func new(req: Request) async throws -> Response {
        try await renderForm(
            req, job: nil,
            values: [
                "response_target_days": "14", "language": req.language.rawValue, "contract_type": "cdi",
                "remote_policy": "hybrid", "auto_updates": "on",
            ], memberIDs: [], errors: [:])
    }

    @Sendable func edit(req: Request) async throws -> Response {
        let job = try await Access.of(req).job(req.uuidParameter("id"), on: req.db)
        let members = try await JobMember.query(on: req.db).filter(\.$job.$id == job.requireID()).all().map(\.$user.id)
        return try await renderForm(req, job: job, values: values(of: job), memberIDs: Set(members), errors: [:])
    }

    @Sendable func create(req: Request) async throws -> Response {
        try await save(req, job: nil)
    }

    @Sendable func update(req: Request) async throws -> Response {
        let job = try await Access.of(req).job(req.uuidParameter("id"), on: req.db)
        return try await save(req, job: job)
    }

    private func save(_ req: Request, job existing: Job?) async throws -> Response {
        let form = try req.content.decode(JobForm.self)
        var values = [
            "title": (form.title ?? "").trimmed, "department": (form.department ?? "").trimmed,
            "location": (form.location ?? "").trimmed,
            "contract_type": form.contract_type ?? "", "remote_policy": form.remote_policy ?? "",
            "description": form.description ?? "",
            "language": form.language ?? "", "response_target_days": (form.response_target_days ?? "").trimmed,
            "auto_updates": form.auto_updates == nil ? "" : "on",
        ]
        values["description"] = values["description"]?.replacingOccurrences(of: "\r\n", with: "\n")
        var errors: [String: String] = [:]
        for field in ["title", "department", "location"] {
            if values[field]!.isEmpty {
                errors[field] = req.t("error.required")
            } else if values[field]!.count > 200 {
                errors[field] = req.t("error.too_long")
            }
        }
        let contract = Job.Contract(rawValue: values["contract_type"]!)
        if contract == nil { errors["contract_type"] = req.t("error.choose") }
        let remote = Job.Remote(rawValue: values["remote_policy"]!)
        if remote == nil { errors["remote_policy"] = req.t("error.choose") }
        let language = Language(rawValue: values["language"]!)
        if language == nil { errors["language"] = req.t("error.choose") }
        let target = Int(values["response_target_days"]!)
        if target == nil || !(1...90).contains(target!) {
            errors["response_target_days"] = req.t("error.response_target")
        }
        if values["description"]!.count > 50_000 { errors["description"] = req.t("error.too_long") }
        let memberIDs = Set((form.members ?? []).compactMap(UUID.init(uuidString:)))
        let knownMembers = try await User.query(on: req.db).filter(\.$id ~~ Array(memberIDs)).all().compactMap(\.id)
        guard errors.isEmpty, let contract, let remote, let language, let target else {
            return try await renderForm(
                req, job: existing, values: values, memberIDs: memberIDs, errors: errors, status: .unprocessableEntity)
        }
        let user = try req.requireUser()
        let fields = values
        let job = try await req.db.transaction { db -> Job in
            let job =
                existing
                ?? Job(
                    title: fields["title"]!, slug: "", department: "", location: "", contractType: contract,
                    remotePolicy: remote,
                    description: "", language: language)
            if existing == nil || job.title != fields["title"]! {
                job.slug = try await Self.uniqueSlug(for: fields["title"]!, excluding: job.id, on: db)
            }
            job.title = fields["title"]!
            job.department = fields["department"]!
            job.location = fields["location"]!
            job.contractType = contract
            job.remotePolicy = remote
            job.description = fields["description"]!
            job.language = language.rawValue
            job.responseTargetDays = target
            job.autoUpdates = fields["auto_updates"] == "on"
            try await job.save(on: db)
            let jobID = try job.requireID()
            if existing == nil {
                let template = try await PipelineTemplateStage.query(on: db).sort(\.$position).all()
                for (position, stage) in template.enumerated() {
                    try await Stage(jobID: jobID, position: position, template: stage.template).create(on: db)
                }
            }
            try await JobMember.query(on: db).filter(\.$job.$id == jobID).delete()
            var members = Set(knownMembers)
            if existing == nil, let userID = user.id { members.insert(userID) }
            for userID in members {
                try await JobMember(jobID: jobID, userID: userID).create(on: db)
            }
            return job
        }
        return req.redirect(
            to: SiteURL.editJob(try job.requireID()), flash: existing == nil ? "flash.job_created" : "flash.job_saved")
    }

    struct StatusForm: Content {
        var status: String
    }

    @Sendable func setStatus(req: Request) async throws -> Response {
        let job = try await Access.of(req).job(req.uuidParameter("id"), on: req.db)
        guard let status = Job.Status(rawValue: try req.content.decode(StatusForm.self).status) else {
            throw Abort(.unprocessableEntity, reason: req.t("error.choose"))
        }
        let opening = status == .open && job.status != .open
        job.status = status
        if status == .open && job.publishedAt == nil { job.publishedAt = req.now }
        try await job.save(on: req.db)
        // A job that opens is proposed to the pool people it matches, for those who run campaigns.
        if opening, try req.requireUser().canManage {
            let matches = try await JobMatch.propose(for: job, on: req.db, now: req.now).count
            if matches > 0 {
                return req.redirect(
                    to: SiteURL.jobMatch(try job.requireID()), flash: "flash.job_open_matches|\(matches)")
            }
        }
        return req.redirect(to: SiteURL.editJob(try job.requireID()), flash: "flash.job_\(status.rawValue)")
    }

    static func uniqueSlug(for title: String, excluding id: UUID?, on db: any Database) async throws -> String {
        let base = Text.slug(title)
        var candidate = base
        var suffix = 2
        while let other = try await Job.query(on: db).filter(\.$slug == candidate).first(), other.id != id {
            candidate = "\(base)-\(suffix)"
            suffix += 1
        }
        return candidate
    }

    private func values(of job: Job) -> [String: String] {
        [
            "title": job.title, "department": job.department, "location": job.location,
            "contract_type": job.contractType.rawValue,
            "remote_policy": job.remotePolicy.rawValue, "description": job.description, "language": job.language,
            "response_target_days": String(job.responseTargetDays), "auto_updates": job.autoUpdates ? "on" : "",
        ]
    }

    private func renderForm(
        _ req: Request, job: Job?, values: [String: String], memberIDs: Set<UUID>, errors: [String: String],
        status: HTTPStatus = .ok
    ) async throws -> Response {
        let users = try await User.query(on: req.db).filter(\.$active == true).sort(\.$name).all()
        func options(_ raw: [String], prefix: String, selected: String?) -> [Choice] {
            raw.map { .init(value: $0, label: req.t("\(prefix).\($0)"), selected: $0 == selected) }
        }
        let content = FormContent(
            action: job.flatMap { $0.id.map { "/app/jobs/\($0.lowercasedString)" } } ?? SiteURL.jobs,
            isNew: job == nil, values: values, errors: errors,
            contracts: options(
                Job.Contract.allCases.map(\.rawValue), prefix: "contract", selected: values["contract_type"]),
            remotes: options(Job.Remote.allCases.map(\.rawValue), prefix: "remote", selected: values["remote_policy"]),
            languages: options(Language.allCases.map(\.rawValue), prefix: "language", selected: values["language"]),
            members: users.compactMap { user in
                user.id.map {
                    Member(
                        id: $0.lowercasedString, label: "\(user.name) (\(req.t("role.\(user.role.rawValue)")))",
                        checked: memberIDs.contains($0))
                }
            },
            status: job.map { req.t("status.\($0.status.rawValue)") },
            statusKey: job?.status.rawValue,
            statusAction: job.flatMap { $0.id.map { "/app/jobs/\($0.lowercasedString)/status" } },
            publicURL: job.flatMap { $0.status == .open ? SiteURL.job($0.slug) : nil })
        return try await req.page("app/job_form", title: job?.title ?? req.t("jobs.new"), status: status, content)
    }
}

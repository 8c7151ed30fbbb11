import Fluent
import Vapor
import VivierCore

/// The library of preparation resources, and the list of applications waiting too long for a decision.
struct PrepController {
    struct Row: Encodable {
        var id: String
        var title: String
        var summary: String?
        var kind: String
        var stage: String
        var job: String
        var language: String
    }

    struct Content: Encodable {
        var rows: [Row]
        var hasRows: Bool
        var stages: [Choice]
        var jobs: [Choice]
        var languages: [Choice]
        var values: [String: String]
        var errors: [String: String]
    }

    @Sendable func list(req: Request) async throws -> Response {
        try await render(req, values: ["stage_kind": "interview", "language": req.language.rawValue], errors: [:])
    }

    private func render(_ req: Request, values: [String: String], errors: [String: String], status: HTTPStatus = .ok)
        async throws -> Response
    {
        let resources = try await PrepResource.query(on: req.db).with(\.$job).sort(\.$createdAt).all()
        let jobs = try await Job.query(on: req.db).sort(\.$title).all()
        return try await req.page(
            "app/prep", title: req.t("prep.title"), status: status,
            Content(
                rows: resources.map {
                    Row(
                        id: $0.id?.lowercasedString ?? "", title: $0.title, summary: $0.summary.nonEmpty,
                        kind: $0.url.isEmpty ? req.t("prep.kind_text") : req.t("prep.kind_link"),
                        stage: req.t("kind.\($0.stageKind)"), job: $0.job?.title ?? req.t("template.all_jobs"),
                        language: $0.language.uppercased())
                },
                hasRows: !resources.isEmpty,
                stages: StageKind.allCases.filter { $0 != .new && $0 != .hired }.map {
                    Choice(
                        value: $0.rawValue, label: req.t("kind.\($0.rawValue)"),
                        selected: values["stage_kind"] == $0.rawValue)
                },
                jobs: [Choice(value: "", label: req.t("template.all_jobs"), selected: (values["job"] ?? "").isEmpty)]
                    + jobs.map {
                        Choice(
                            value: $0.id?.lowercasedString ?? "", label: $0.title,
                            selected: values["job"] == $0.id?.lowercasedString)
                    },
                languages: Language.allCases.map {
                    Choice(
                        value: $0.rawValue, label: $0.rawValue.uppercased(), selected: values["language"] == $0.rawValue
                    )
                },
                values: values, errors: errors))
    }

    struct Form: Vapor.Content {
        var title: String?
        var summary: String?
        var body: String?
        var url: String?
        var stage_kind: String?
        var job: String?
        var language: String?
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let values = [
            "title": (form.title ?? "").trimmed, "summary": (form.summary ?? "").trimmed,
            "body": (form.body ?? "").replacingOccurrences(of: "\r\n", with: "\n").trimmed,
            "url": (form.url ?? "").trimmed, "stage_kind": form.stage_kind ?? "", "job": form.job ?? "",
            "language": form.language ?? "",
        ]
        var errors: [String: String] = [:]
        if values["title"]!.isEmpty || values["title"]!.count > 200 { errors["title"] = req.t("error.required") }
        if values["summary"]!.count > 300 { errors["summary"] = req.t("error.too_long") }
        let url = values["url"]!
        if url.isEmpty && values["body"]!.isEmpty { errors["body"] = req.t("prep.error_content") }
        if !url.isEmpty,
            URL(string: url).map({ ["https", "http"].contains($0.scheme ?? "") && $0.host != nil }) != true
                || url.contains(where: \.isWhitespace)
        {
            errors["url"] = req.t("error.url_invalid")
        }
        let kind = StageKind(rawValue: values["stage_kind"]!)
        if kind == nil { errors["stage_kind"] = req.t("error.choose") }
        let language = Language(rawValue: values["language"]!)
        if language == nil { errors["language"] = req.t("error.choose") }
        var jobID: UUID?
        if !values["job"]!.isEmpty {
            jobID = UUID(uuidString: values["job"]!)
            let job = try await jobID.asyncFlatMap { try await Job.find($0, on: req.db) }
            if job == nil { errors["job"] = req.t("error.choose") }
        }
        guard errors.isEmpty, let kind, let language else {
            return try await render(req, values: values, errors: errors, status: .unprocessableEntity)
        }
        try await PrepResource(
            title: values["title"]!, summary: values["summary"]!, body: values["body"]!, url: url, stageKind: kind,
            jobID: jobID, language: language.rawValue, at: req.now
        ).create(on: req.db)
        return req.redirect(to: SiteURL.prepResources, flash: "flash.prep_added")
    }

    @Sendable func delete(req: Request) async throws -> Response {
        guard let id = req.uuidParameter("id"), let resource = try await PrepResource.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        try await resource.delete(on: req.db)
        return req.redirect(to: SiteURL.prepResources, flash: "flash.prep_deleted")
    }

    // MARK: - Waiting too long

    struct WaitingRow: Encodable {
        var candidate: String
        var candidateURL: String
        var job: String
        var boardURL: String
        var deadline: String
        var past: Bool
    }

    struct WaitingContent: Encodable {
        var rows: [WaitingRow]
        var hasRows: Bool
        var past: Int
        var near: Int
    }

    @Sendable func waiting(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let items = try await AtRisk.applications(for: user, on: req.db, now: req.now)
        return try await req.page(
            "app/waiting", title: req.t("waiting.title"),
            WaitingContent(
                rows: items.map {
                    WaitingRow(
                        candidate: $0.candidate, candidateURL: SiteURL.candidate($0.candidateID), job: $0.job,
                        boardURL: SiteURL.board($0.jobID), deadline: Dates.day($0.deadline, req.language),
                        past: $0.urgency == .past)
                },
                hasRows: !items.isEmpty,
                past: items.filter { $0.urgency == .past }.count, near: items.filter { $0.urgency == .near }.count))
    }
}

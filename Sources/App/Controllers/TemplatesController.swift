import Fluent
import Vapor
import VivierCore

/// Recruiters edit the messages candidates receive: subject and Markdown body per kind and language, for the
/// company or as one job's override, with a live preview against a real candidate. A save that names a field
/// the message does not offer is refused; every save is a new version.
struct TemplatesController {
    struct Row: Encodable {
        var kind: String
        var label: String
        var links: [Choice]
    }

    struct ListContent: Encodable {
        var rows: [Row]
    }

    @Sendable func list(req: Request) async throws -> Response {
        struct Latest: Decodable {
            var kind: String
            var language: String
            var scope: String
            var version: Int
        }
        let saved = try await req.db.sql().raw(
            "SELECT kind, language, scope, MAX(version) AS version FROM message_templates GROUP BY kind, language, scope"
        ).all(decoding: Latest.self)
        let rows = MessageKind.allCases.map { kind in
            Row(
                kind: kind.rawValue, label: req.t("message.kind.\(kind.rawValue)"),
                links: Language.allCases.map { language in
                    let mine = saved.filter { $0.kind == kind.rawValue && $0.language == language.rawValue }
                    let company = mine.first { $0.scope.isEmpty }.map { "v\($0.version)" } ?? req.t("template.shipped")
                    let overrides = mine.filter { !$0.scope.isEmpty }.count
                    return Choice(
                        value: SiteURL.template(kind.rawValue, language.rawValue),
                        label: "\(language.rawValue.uppercased()) · \(company)"
                            + (overrides > 0 ? " · \(overrides) \(req.t("template.overrides"))" : ""),
                        selected: false)
                })
        }
        return try await req.page("app/templates", title: req.t("template.title"), ListContent(rows: rows))
    }

    struct Version: Encodable {
        var version: Int
        var date: String
        var author: String
    }

    struct EditContent: Encodable {
        var kind: String
        var kindLabel: String
        var language: String
        var action: String
        var subject: String
        var body: String
        var problems: [String]
        var hasProblems: Bool
        var fields: [String]
        var jobs: [Choice]
        var jobTitle: String?
        var candidates: [Choice]
        var versions: [Version]
        var hasVersions: Bool
        var currentVersion: String
        var preview: Preview?
    }

    struct Preview: Encodable {
        var subject: String
        var html: String
        var text: String
    }

    private func parse(_ req: Request) throws -> (MessageKind, Language, UUID?) {
        guard let kind = MessageKind(rawValue: req.parameters.get("kind") ?? ""),
            let language = Language(rawValue: req.parameters.get("language") ?? "")
        else { throw Abort(.notFound) }
        let job = req.query[String.self, at: "job"].flatMap(UUID.init(uuidString:))
        return (kind, language, job)
    }

    @Sendable func edit(req: Request) async throws -> Response {
        let (kind, language, jobID) = try parse(req)
        let composer = Composer(db: req.db, app: req.application, now: req.now)
        let (template, version) = try await composer.template(kind, language: language, jobID: jobID)
        return try await render(
            req, kind: kind, language: language, jobID: jobID, subject: template.subject, body: template.body,
            problems: [], currentVersion: version)
    }

    struct SaveForm: Content {
        var subject: String?
        var body: String?
        var candidate: String?
        var intent: String?
    }

    /// Saves a new version, or only previews it (the preview button, or the live preview's fetch).
    @Sendable func save(req: Request) async throws -> Response {
        let (kind, language, jobID) = try parse(req)
        let user = try req.requireUser()
        let form = try req.content.decode(SaveForm.self)
        let subject = (form.subject ?? "").trimmingCharacters(in: .whitespaces)
        let body = (form.body ?? "").replacingOccurrences(of: "\r\n", with: "\n")
        let template = MessageTemplate(subject: subject, body: body)
        var problems = template.problems(against: kind.schema).map(\.description)
        if body.count > 20_000 || subject.count > 300 { problems.append(req.t("error.too_long")) }
        if let jobID { _ = try await Access.of(req).job(jobID, on: req.db) }

        if form.intent == "preview" {
            let preview = problems.isEmpty ? try await preview(template, kind: kind, form.candidate, req) : nil
            if req.headers.first(name: "X-Preview") != nil {
                return try await req.previewFragment(preview, problems: problems)
            }
            return try await render(
                req, kind: kind, language: language, jobID: jobID, subject: subject, body: body, problems: problems,
                currentVersion: "", preview: preview, candidate: form.candidate)
        }
        guard problems.isEmpty else {
            return try await render(
                req, kind: kind, language: language, jobID: jobID, subject: subject, body: body, problems: problems,
                currentVersion: "", status: .unprocessableEntity)
        }
        let scope = jobID?.lowercasedString ?? ""
        try await req.db.writeTransaction { db in
            let last =
                try await TemplateVersion.query(on: db).filter(\.$kind == kind.rawValue)
                .filter(\.$language == language.rawValue).filter(\.$scope == scope).sort(\.$version, .descending)
                .first()?.version ?? 0
            try await TemplateVersion(
                kind: kind, language: language.rawValue, scope: scope, version: last + 1, subject: subject,
                body: body, authorID: user.id, at: req.now
            ).create(on: db)
        }
        return req.redirect(
            to: SiteURL.template(kind.rawValue, language.rawValue)
                + (jobID.map { "?job=\($0.lowercasedString)" } ?? ""),
            flash: "flash.template_saved")
    }

    /// The template rendered for a real candidate (the chosen one, else the latest applicant).
    private func preview(_ template: MessageTemplate, kind: MessageKind, _ candidateID: String?, _ req: Request)
        async throws -> Preview?
    {
        var candidate: Candidate?
        if let id = candidateID.flatMap(UUID.init(uuidString:)) { candidate = try await Candidate.find(id, on: req.db) }
        if candidate == nil {
            candidate = try await Candidate.query(on: req.db).filter(\.$mergedInto.$id == nil)
                .sort(\.$createdAt, .descending).first()
        }
        guard let candidate else { return nil }
        let application = try await JobApplication.query(on: req.db).filter(\.$candidate.$id == candidate.requireID())
            .sort(\.$createdAt, .descending).first()
        let job = try await application?.$job.get(on: req.db)
        let composer = Composer(db: req.db, app: req.application, now: req.now)
        let rendered = try await composer.render(
            kind, candidate: candidate, application: application, job: job,
            extra: Self.sample(kind, candidate: candidate, composer: composer),
            portalURL: req.application.config.publicURL + SiteURL.portal,
            draft: template)
        return Preview(subject: rendered.message.subject, html: rendered.message.html, text: rendered.message.text)
    }

    /// Plausible values for the fields that only exist when the message is really sent.
    static func sample(_ kind: MessageKind, candidate: Candidate, composer: Composer) -> [String: Any] {
        let language = Language(rawValue: candidate.language) ?? .fr
        let fr = language == .fr
        let promised = WorkingCalendar.france(around: composer.now).adding(workingDays: 8, to: composer.now)
        return [
            "delay": ["working_days": 8, "phrase": Composer.delayPhrase(8, language)],
            "promised_date": Dates.day(promised, language),
            "has_next_steps": true,
            "next_steps": [
                ["number": 1, "name": fr ? "Entretien RH" : "HR interview"],
                ["number": 2, "name": fr ? "Entretien équipe" : "Team interview"],
            ],
            "interview": [
                "when": Dates.dayTime(composer.now + 3 * 86_400, language), "time_zone": "Europe/Paris",
                "duration_minutes": 60, "location": fr ? "12 rue des Lilas, Lyon" : "12 rue des Lilas, Lyon",
                "interviewers": "Claire Martin",
            ],
            "has_prep_pack": true,
            "prep_pack": [
                [
                    "title": fr ? "Comment se passe un entretien chez nous" : "How our interviews work",
                    "url": composer.config.publicURL, "summary": "",
                ]
            ],
            "personal_note": fr ? "Votre portfolio nous a beaucoup plu." : "We really liked your portfolio.",
            "opt_in": Rejection.optInLinks(candidateID: candidate.id ?? UUID(), composer: composer),
            "days_since_applied": 9,
            "awaiting": fr ? "notre invitation à un entretien" : "our interview invitation",
            "survey_url": composer.config.publicURL + SiteURL.survey("preview"),
        ]
    }

    private func render(
        _ req: Request, kind: MessageKind, language: Language, jobID: UUID?, subject: String, body: String,
        problems: [String], currentVersion: String, preview: Preview? = nil, candidate: String? = nil,
        status: HTTPStatus = .ok
    ) async throws -> Response {
        let scope = jobID?.lowercasedString ?? ""
        let versions = try await TemplateVersion.query(on: req.db).filter(\.$kind == kind.rawValue)
            .filter(\.$language == language.rawValue).filter(\.$scope == scope).with(\.$author)
            .sort(\.$version, .descending).limit(20).all()
        let jobs = try await Job.query(on: req.db).sort(\.$title).all()
        let candidates = try await Candidate.query(on: req.db).filter(\.$mergedInto.$id == nil)
            .filter(\.$email != "").filter(\.$erasedAt == nil).sort(\.$createdAt, .descending).limit(20).all()
        let query = jobID.map { "?job=\($0.lowercasedString)" } ?? ""
        let action = SiteURL.template(kind.rawValue, language.rawValue) + query
        return try await req.page(
            "app/template_edit", title: req.t("message.kind.\(kind.rawValue)"), status: status,
            EditContent(
                kind: kind.rawValue, kindLabel: req.t("message.kind.\(kind.rawValue)"), language: language.rawValue,
                action: action, subject: subject, body: body, problems: problems,
                hasProblems: !problems.isEmpty,
                fields: kind.schema.paths.sorted(),
                jobs: [Choice(value: "", label: req.t("template.all_jobs"), selected: jobID == nil)]
                    + jobs.map {
                        Choice(value: $0.id?.lowercasedString ?? "", label: $0.title, selected: $0.id == jobID)
                    },
                jobTitle: jobs.first { $0.id == jobID }?.title,
                candidates: candidates.map {
                    Choice(
                        value: $0.id?.lowercasedString ?? "", label: $0.fullName,
                        selected: $0.id?.lowercasedString == candidate)
                },
                versions: versions.map {
                    Version(
                        version: $0.version, date: Dates.dayTime($0.createdAt, req.language),
                        author: $0.author?.name ?? "")
                },
                hasVersions: !versions.isEmpty, currentVersion: currentVersion, preview: preview))
    }
}

extension Request {
    /// The live preview of a message being written (a template, a campaign): a fragment without the page layout.
    func previewFragment(_ preview: TemplatesController.Preview?, problems: [String]) async throws -> Response {
        struct Fragment: Encodable {
            var preview: TemplatesController.Preview?
            var problems: [String]
            var hasProblems: Bool
            var t: [String: String]
        }
        return try await view.render(
            "app/template_preview",
            Fragment(
                preview: preview, problems: problems, hasProblems: !problems.isEmpty,
                t: application.translations.table(language))
        ).encodeResponse(for: self).get()
    }
}

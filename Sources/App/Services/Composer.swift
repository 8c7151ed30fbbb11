import Fluent
import Foundation
import Vapor
import VivierCore
import VivierMail

/// The templates Vivier ships, one per message kind and language, read once at boot from `Resources/Templates`:
/// the first line is the subject, the rest (after a blank line) the Markdown body. A missing file or a template
/// naming an unknown field stops the boot.
struct ShippedTemplates: Sendable {
    private let templates: [String: MessageTemplate]

    init(directory: URL) throws {
        var templates: [String: MessageTemplate] = [:]
        for kind in MessageKind.allCases {
            for language in Language.allCases {
                let file = directory.appendingPathComponent("\(language.rawValue)/\(kind.rawValue).md")
                guard let data = FileManager.default.contents(atPath: file.path) else {
                    throw AppConfig.Invalid(
                        variable: "Resources/Templates", problem: "missing \(file.path): run Vivier from its checkout")
                }
                let source = String(decoding: data, as: UTF8.self)
                let subject = String(source.prefix { $0 != "\n" })
                let body = String(source.dropFirst(subject.count)).trimmingCharacters(in: .newlines) + "\n"
                let template = MessageTemplate(subject: subject, body: body)
                let problems = template.problems(against: kind.schema)
                guard problems.isEmpty else {
                    throw AppConfig.Invalid(
                        variable: "Resources/Templates",
                        problem: "\(file.lastPathComponent): \(problems.map(\.description).joined(separator: "; "))")
                }
                templates["\(language.rawValue)/\(kind.rawValue)"] = template
            }
        }
        self.templates = templates
    }

    func template(_ kind: MessageKind, _ language: Language) -> MessageTemplate {
        templates["\(language.rawValue)/\(kind.rawValue)"]!
    }
}

extension Application {
    private struct ShippedTemplatesKey: StorageKey {
        typealias Value = ShippedTemplates
    }

    var shippedTemplates: ShippedTemplates {
        get {
            guard let value = storage[ShippedTemplatesKey.self] else { fatalError("templates not loaded") }
            return value
        }
        set { storage[ShippedTemplatesKey.self] = newValue }
    }
}

/// Writes messages to candidates from their templates and puts them in the outbox: the current version of the
/// template (the job's override, else the company's, else the shipped one), merged with the candidate, the job,
/// the company and a fresh link to the candidate's portal.
struct Composer {
    let db: any Database
    let config: AppConfig
    let shipped: ShippedTemplates
    let now: Date
    /// The company's settings when the caller has them already (a bulk rejection writes 500 messages with one).
    private let loadedCompany: Company?

    init(db: any Database, config: AppConfig, shipped: ShippedTemplates, now: Date, company: Company? = nil) {
        self.db = db
        self.config = config
        self.shipped = shipped
        self.now = now
        self.loadedCompany = company
    }

    init(db: any Database, app: Application, now: Date, company: Company? = nil) {
        self.init(db: db, config: app.config, shipped: app.shippedTemplates, now: now, company: company)
    }

    /// The company's settings: those given at creation, else read now.
    func company() async throws -> Company {
        if let loadedCompany { return loadedCompany }
        return try await Company.load(on: db)
    }

    /// The same composer with the company's settings read once, for a run of messages.
    func loadingCompany() async throws -> Composer {
        Composer(db: db, config: config, shipped: shipped, now: now, company: try await company())
    }

    /// The template a message of `kind` to someone speaking `language` uses now, about `jobID`, with the name of
    /// its version (`rejection_profile/fr/job/v2`, `…/company/v1`, `…/default`).
    func template(_ kind: MessageKind, language: Language, jobID: UUID?) async throws -> (MessageTemplate, String) {
        var scopes = [""]
        if let jobID { scopes.insert(jobID.lowercasedString, at: 0) }
        for scope in scopes {
            if let saved = try await TemplateVersion.query(on: db).filter(\.$kind == kind.rawValue)
                .filter(\.$language == language.rawValue).filter(\.$scope == scope).sort(\.$version, .descending)
                .first()
            {
                return (
                    MessageTemplate(subject: saved.subject, body: saved.body),
                    "\(kind.rawValue)/\(language.rawValue)/\(scope.isEmpty ? "company" : "job")/v\(saved.version)"
                )
            }
        }
        return (shipped.template(kind, language), "\(kind.rawValue)/\(language.rawValue)/default")
    }

    /// What every template may name, for this candidate and application.
    func context(
        candidate: Candidate, application: JobApplication?, job: Job?, company: Company, language: Language,
        portalURL: String
    ) async throws -> [String: Any] {
        var context: [String: Any] = [
            "candidate": [
                "first_name": candidate.firstName, "last_name": candidate.lastName, "full_name": candidate.fullName,
                "email": candidate.email,
            ],
            "company": ["name": company.name],
            "portal_url": portalURL,
            "preferences_url": portalURL + "?to=preferences",
        ]
        if let job {
            context["job"] = ["title": job.title, "department": job.department, "location": job.location]
            if let member = try await JobMember.query(on: db).filter(\.$job.$id == job.requireID()).with(\.$user)
                .first()
            {
                context["recruiter"] = ["name": member.user.name, "email": member.user.email]
            }
        }
        if let application {
            if let created = application.createdAt {
                context["application"] = ["applied_on": Dates.day(created, language)]
            }
            if let stage = try await application.$stage.get(on: db) {
                context["stage"] = ["name": stage.name(in: language)]
            }
        }
        return context
    }

    /// A new magic link to the candidate's portal, valid 30 days.
    func portalLink(for candidateID: UUID) async throws -> String {
        let token = Tokens.random()
        try await PortalLink(
            candidateID: candidateID, tokenHash: Tokens.hash(token), expiresAt: now + PortalLink.lifetime, at: now
        ).create(on: db)
        return config.publicURL + SiteURL.portalEntry(token)
    }

    /// Writes the message of `kind` and queues it once per `dedupeKey`; false when it was already queued or the
    /// candidate has no address left (erased).
    @discardableResult
    func send(
        _ kind: MessageKind, to candidate: Candidate, application: JobApplication?, job: Job?,
        extra: [String: Any] = [:], dedupeKey: String, sendAt: Date? = nil,
        calendar: (method: String, body: String)? = nil, attachments: [Attachment] = []
    ) async throws -> Bool {
        guard candidate.hasAddress else { return false }
        if try await OutboxMessage.query(on: db).filter(\.$dedupeKey == dedupeKey).count() > 0 { return false }
        let rendered = try await render(
            kind, candidate: candidate, application: application, job: job, extra: extra,
            portalURL: try await portalLink(for: candidate.requireID()))
        var message = try CandidateMail.message(
            from: config.mail.from, brand: Brand(rendered.company), publicURL: config.publicURL, to: candidate,
            rendered: rendered.message,
            calendar: calendar)
        message.attachments = attachments
        return try await Outbox.enqueue(
            message, kind: kind.rawValue, dedupeKey: dedupeKey, transactional: true, candidateID: candidate.id,
            applicationID: application?.id, template: rendered.version, tracking: config.secret, sendAt: sendAt,
            on: db, now: now)
    }

    /// The message as the candidate would read it, without queueing anything (previews, tests).
    func render(
        _ kind: MessageKind, candidate: Candidate, application: JobApplication?, job: Job?, extra: [String: Any],
        portalURL: String, draft: MessageTemplate? = nil
    ) async throws -> (message: MessageTemplate.Rendered, version: String, company: Company) {
        let language = Language(rawValue: candidate.language) ?? .fr
        let (template, version) =
            if let draft { (draft, "preview") } else {
                try await template(kind, language: language, jobID: job?.id)
            }
        let company = try await company()
        var context = try await context(
            candidate: candidate, application: application, job: job, company: company, language: language,
            portalURL: portalURL)
        context.merge(extra) { _, new in new }
        return (try template.render(context), version, company)
    }

    /// "sous 8 jours ouvrés" / "within 8 working days": the delay as a person says it.
    static func delayPhrase(_ days: Int, _ language: Language) -> String {
        switch language {
        case .fr: days == 1 ? "sous 1 jour ouvré" : "sous \(days) jours ouvrés"
        case .en: days == 1 ? "within 1 working day" : "within \(days) working days"
        }
    }
}

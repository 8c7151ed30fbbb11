import Fluent
import Vapor
import VivierCore
import VivierMail

/// Partner recruiters, and forwarding a candidate's CV to one of them — only with the candidate's partner-sharing
/// consent, which is checked at the moment of sending; the candidate is told who received it.
struct PartnersController {
    struct Row: Encodable {
        var id: String
        var company: String
        var name: String
        var email: String
        var active: Bool
    }

    struct Content: Encodable {
        var rows: [Row]
        var hasRows: Bool
        var values: [String: String]
        var errors: [String: String]
        var languages: [Choice]
    }

    @Sendable func list(req: Request) async throws -> Response {
        try await render(req, values: ["language": "fr"], errors: [:])
    }

    private func render(_ req: Request, values: [String: String], errors: [String: String], status: HTTPStatus = .ok)
        async throws -> Response
    {
        let partners = try await Partner.query(on: req.db).sort(\.$company).all()
        return try await req.page(
            "app/partners", title: req.t("partners.title"), status: status,
            Content(
                rows: partners.map {
                    Row(
                        id: $0.id?.lowercasedString ?? "", company: $0.company, name: $0.name, email: $0.email,
                        active: $0.active)
                }, hasRows: !partners.isEmpty, values: values, errors: errors,
                languages: Language.allCases.map {
                    Choice(
                        value: $0.rawValue, label: req.t("language.\($0.rawValue)"),
                        selected: values["language"] == $0.rawValue)
                }))
    }

    struct Form: Vapor.Content {
        var company: String?
        var name: String?
        var email: String?
        var language: String?
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let values = [
            "company": (form.company ?? "").trimmed, "name": (form.name ?? "").trimmed,
            "email": EmailAddress.normalize(form.email ?? ""), "language": form.language ?? "",
        ]
        var errors: [String: String] = [:]
        for field in ["company", "name"] where values[field]!.isEmpty || values[field]!.count > 120 {
            errors[field] = req.t("error.required")
        }
        if !EmailAddress.isValid(values["email"]!) { errors["email"] = req.t("error.email_invalid") }
        let language = Language(rawValue: values["language"]!)
        if language == nil { errors["language"] = req.t("error.choose") }
        if errors["email"] == nil,
            try await Partner.query(on: req.db).filter(\.$email == values["email"]!).count() > 0
        {
            errors["email"] = req.t("partners.error_exists")
        }
        guard errors.isEmpty, let language else {
            return try await render(req, values: values, errors: errors, status: .unprocessableEntity)
        }
        try await Partner(
            company: values["company"]!, name: values["name"]!, email: values["email"]!, language: language,
            at: req.now
        ).create(on: req.db)
        return req.redirect(to: SiteURL.partners, flash: "flash.partner_added")
    }

    @Sendable func toggle(req: Request) async throws -> Response {
        guard let id = req.uuidParameter("id"), let partner = try await Partner.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        partner.active.toggle()
        try await partner.save(on: req.db)
        return req.redirect(to: SiteURL.partners, flash: partner.active ? "flash.partner_on" : "flash.partner_off")
    }

    struct ForwardForm: Vapor.Content {
        var partner: String?
        var note: String?
    }

    /// Sends the partner a short introduction with the latest CV attached, tells the candidate, notes it on the
    /// timeline: one transaction, refused without a current partner-sharing consent.
    @Sendable func forward(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let candidateID = try candidate.requireID()
        let form = try req.content.decode(ForwardForm.self)
        let note = (form.note ?? "").trimmed
        guard let partnerID = form.partner.flatMap(UUID.init(uuidString:)),
            let partner = try await Partner.find(partnerID, on: req.db), partner.active, note.count <= 2000
        else {
            return req.redirect(to: SiteURL.candidate(candidateID), flash: "error.choose", kind: .error)
        }
        guard try await ConsentLedger.state(of: candidateID, on: req.db)[.partnerSharing] == true else {
            return req.redirect(to: SiteURL.candidate(candidateID), flash: "flash.forward_no_consent", kind: .error)
        }
        guard
            let document = try await Document.query(on: req.db).filter(\.$candidate.$id == candidateID)
                .sort(\.$createdAt, .descending).first()
        else {
            return req.redirect(to: SiteURL.candidate(candidateID), flash: "flash.forward_no_cv", kind: .error)
        }
        let cv = try req.application.blobs.get(document.storageKey)
        let user = try req.requireUser()
        let company = try await Company.load(on: req.db)
        let introduction = try Self.introduction(
            candidate: candidate, partner: partner, note: note, from: user, company: company,
            sender: req.application.config.mail.from,
            attachment: Attachment(filename: document.originalName, mediaType: document.kind.mediaType, bytes: cv))
        let key = "forward:\(candidateID.lowercasedString):\(partnerID.lowercasedString)"
        let sent = try await req.db.transaction { db in
            guard
                try await Outbox.enqueue(
                    introduction, kind: "cv_forward", dedupeKey: key, transactional: true, candidateID: candidateID,
                    on: db, now: req.now)
            else { return false }
            try await Composer(db: db, app: req.application, now: req.now).send(
                .cvForwarded, to: candidate, application: nil, job: nil,
                extra: ["partner": ["company": partner.company, "name": partner.name]], dedupeKey: key + ":told")
            try await Interaction(
                candidateID: candidateID, applicationID: nil, actorID: user.id, kind: .cvForwarded,
                detail: "\(partner.name) — \(partner.company)", at: req.now
            ).create(on: db)
            return true
        }
        return req.redirect(
            to: SiteURL.candidate(candidateID), flash: sent ? "flash.forwarded" : "flash.forward_already",
            kind: sent ? .success : .error)
    }

    /// The partner's message, in the partner's language: who, why, the recruiter's note, the CV attached.
    static func introduction(
        candidate: Candidate, partner: Partner, note: String, from user: User, company: Company,
        sender: MailAddress, attachment: Attachment
    ) throws -> MailMessage {
        let fr = partner.language == "fr"
        var lines = [
            fr ? "Bonjour \(partner.name)," : "Hello \(partner.name),", "",
            fr
                ? "\(user.name), de l'équipe recrutement de \(company.name), vous présente \(candidate.fullName), qui a accepté que nous transmettions son CV à nos entreprises partenaires."
                : "\(user.name), from the \(company.name) recruiting team, introduces \(candidate.fullName), who agreed that we share their CV with our partner companies.",
        ]
        if !note.isEmpty { lines += ["", note] }
        lines += [
            "",
            fr
                ? "Son CV est joint. Pour la contacter : \(candidate.email)\(candidate.phone.isEmpty ? "" : ", \(candidate.phone)")."
                : "Their CV is attached. To contact them: \(candidate.email)\(candidate.phone.isEmpty ? "" : ", \(candidate.phone)").",
            "",
            fr
                ? "Merci de n'utiliser ces informations que pour un recrutement, et de les supprimer si vous ne donnez pas suite."
                : "Please use this information for recruitment only, and delete it if you do not follow up.",
            "", fr ? "Bien cordialement," : "Kind regards,", "\(user.name) — \(company.name)",
        ]
        var message = MailMessage(
            from: try MailAddress(sender.address, name: company.name),
            to: [try MailAddress(partner.email, name: partner.name)],
            subject: fr
                ? "Profil recommandé par \(company.name) : \(candidate.fullName)"
                : "Profile recommended by \(company.name): \(candidate.fullName)",
            text: lines.joined(separator: "\n"))
        message.replyTo = try MailAddress(user.email, name: user.name)
        message.attachments = [attachment]
        return message
    }
}

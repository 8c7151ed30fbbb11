import Fluent
import Vapor
import VivierCore

/// Admin pages: users, the default pipeline, the company.
struct AdminController {
    // MARK: - Users

    struct UserRow: Encodable {
        var id: String
        var name: String
        var email: String
        var role: String
        var active: Bool
        var action: String
        var roles: [Choice]
        var isSelf: Bool
    }

    struct UsersContent: Encodable {
        var users: [UserRow]
        var roles: [Choice]
        var values: [String: String]
        var errors: [String: String]
    }

    @Sendable func users(req: Request) async throws -> Response {
        try await renderUsers(req, values: ["role": "recruiter"], errors: [:])
    }

    struct NewUserForm: Content {
        var name: String?
        var email: String?
        var role: String?
        var password: String?
    }

    @Sendable func createUser(req: Request) async throws -> Response {
        let form = try req.content.decode(NewUserForm.self)
        let name = (form.name ?? "").trimmed
        let email = EmailAddress.normalize(form.email ?? "")
        let role = User.Role(rawValue: form.role ?? "")
        let password = form.password ?? ""
        var errors: [String: String] = [:]
        if name.isEmpty { errors["name"] = req.t("error.required") }
        if !EmailAddress.isValid(email) {
            errors["email"] = req.t("error.email_invalid")
        } else if try await User.query(on: req.db).filter(\.$email == email).count() > 0 {
            errors["email"] = req.t("error.email_taken")
        }
        if role == nil { errors["role"] = req.t("error.choose") }
        if let problem = Passwords.problem(password) { errors["password"] = req.t(problem) }
        guard errors.isEmpty, let role else {
            return try await renderUsers(
                req, values: ["name": name, "email": email, "role": form.role ?? ""], errors: errors,
                status: .unprocessableEntity)
        }
        let hash = try await req.password.async.hash(password)
        let user = User(email: email, name: name, role: role, passwordHash: hash, locale: req.language.rawValue)
        try await user.create(on: req.db)
        try await req.audit(
            .userCreated, target: "user:\(try user.requireID().lowercasedString)",
            detail: "role=\(role.rawValue)")
        return req.redirect(to: SiteURL.users, flash: "flash.user_created")
    }

    struct UpdateUserForm: Content {
        var role: String?
        var active: String?
    }

    @Sendable func updateUser(req: Request) async throws -> Response {
        guard let id = req.uuidParameter("id"), let user = try await User.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        let form = try req.content.decode(UpdateUserForm.self)
        let me = try req.requireUser()
        guard let role = User.Role(rawValue: form.role ?? "") else {
            throw Abort(.unprocessableEntity, reason: req.t("error.choose"))
        }
        let active = form.active != nil
        if user.id == me.id && (role != .admin || !active) {
            return req.redirect(to: SiteURL.users, flash: "flash.cannot_demote_self", kind: .error)
        }
        let before = "role=\(user.role.rawValue) active=\(user.active)"
        try await req.db.transaction { db in
            user.role = role
            user.active = active
            try await user.save(on: db)
            // A disabled user is signed out everywhere at once (ASVS 7.4.2).
            if !active { try await Sessions.closeAll(of: id, on: db) }
            // API tokens act with their creator's authority: it goes, they go.
            if !active || role != .admin {
                try await ApiToken.query(on: db).filter(\.$createdBy.$id == id).filter(\.$revokedAt == nil)
                    .set(\.$revokedAt, to: req.now).update()
            }
        }
        try await req.audit(
            .userChanged, target: "user:\(id.lowercasedString)",
            detail: "\(before) → role=\(role.rawValue) active=\(active)")
        return req.redirect(to: SiteURL.users, flash: "flash.user_saved")
    }

    private func renderUsers(
        _ req: Request, values: [String: String], errors: [String: String], status: HTTPStatus = .ok
    ) async throws -> Response {
        let me = try req.requireUser()
        let users = try await User.query(on: req.db).sort(\.$name).all()
        func roles(_ selected: String) -> [Choice] {
            User.Role.allCases.map {
                .init(value: $0.rawValue, label: req.t("role.\($0.rawValue)"), selected: $0.rawValue == selected)
            }
        }
        let rows = try users.map { user in
            let id = try user.requireID()
            return UserRow(
                id: id.lowercasedString, name: user.name, email: user.email,
                role: req.t("role.\(user.role.rawValue)"), active: user.active,
                action: SiteURL.user(id), roles: roles(user.role.rawValue), isSelf: id == me.id)
        }
        return try await req.page(
            "app/users", title: req.t("users.title"), status: status,
            UsersContent(users: rows, roles: roles(values["role"] ?? ""), values: values, errors: errors))
    }

    // MARK: - Default pipeline

    struct StageRow: Encodable {
        var index: Int
        var nameFR: String
        var nameEN: String
        var kinds: [Choice]
    }

    struct PipelineContent: Encodable {
        var stages: [StageRow]
        var error: String?
    }

    @Sendable func pipeline(req: Request) async throws -> Response {
        let stages = try await PipelineTemplateStage.query(on: req.db).sort(\.$position).all().map(\.template)
        return try await renderPipeline(req, stages: stages, error: nil)
    }

    struct PipelineForm: Content {
        var name_fr: [String]?
        var name_en: [String]?
        var kind: [String]?
    }

    @Sendable func savePipeline(req: Request) async throws -> Response {
        let form = try req.content.decode(PipelineForm.self)
        let fr = form.name_fr ?? [], en = form.name_en ?? [], kinds = form.kind ?? []
        guard fr.count == en.count, en.count == kinds.count, fr.count <= 20 else { throw Abort(.badRequest) }
        // Rows left entirely blank are the spare rows of the form, not stages.
        let stages = zip(zip(fr, en), kinds).compactMap { names, kind -> StageTemplate? in
            let (nameFR, nameEN) = (names.0.trimmed, names.1.trimmed)
            if nameFR.isEmpty && nameEN.isEmpty { return nil }
            return StageTemplate(nameFR: nameFR, nameEN: nameEN, kind: StageKind(rawValue: kind) ?? .screening)
        }
        if let problem = StageTemplate.validate(stages) {
            return try await renderPipeline(req, stages: stages, error: req.t(problem), status: .unprocessableEntity)
        }
        try await req.db.transaction { db in
            try await PipelineTemplateStage.query(on: db).delete()
            for (position, stage) in stages.enumerated() {
                try await PipelineTemplateStage(position: position, template: stage).create(on: db)
            }
        }
        try await req.audit(.settingsChanged, target: "settings:pipeline", detail: "\(stages.count) stages")
        return req.redirect(to: SiteURL.pipeline, flash: "flash.pipeline_saved")
    }

    private func renderPipeline(_ req: Request, stages: [StageTemplate], error: String?, status: HTTPStatus = .ok)
        async throws -> Response
    {
        let padded = stages + Array(repeating: StageTemplate(nameFR: "", nameEN: "", kind: .screening), count: 2)
        let rows = padded.enumerated().map { index, stage in
            StageRow(
                index: index + 1, nameFR: stage.nameFR, nameEN: stage.nameEN,
                kinds: StageKind.allCases.map {
                    .init(value: $0.rawValue, label: req.t("kind.\($0.rawValue)"), selected: $0 == stage.kind)
                })
        }
        return try await req.page(
            "app/pipeline", title: req.t("pipeline.title"), status: status, PipelineContent(stages: rows, error: error))
    }

    // MARK: - Company

    struct CompanyContent: Encodable {
        var values: [String: String]
        var errors: [String: String]
        var brand: Brand
        /// Where the SMS provider posts replies, when texts are on.
        var smsWebhook: String?
    }

    struct CompanyForm: Content {
        var name: String?
        var website: String?
        var country: String?
        var time_zone: String?
        var sending_opens: String?
        var sending_closes: String?
        var no_news_days: String?
        var silence_days: String?
        var reminder_hours: String?
        var brand_color: String?
    }

    private func values(_ company: Company) -> [String: String] {
        [
            "name": company.name, "website": company.website, "country": company.country,
            "time_zone": company.timeZone, "sending_opens": String(company.sendingOpens),
            "sending_closes": String(company.sendingCloses), "no_news_days": String(company.noNewsDays),
            "silence_days": String(company.silenceDays), "reminder_hours": String(company.reminderHours),
            "brand_color": company.brandColor,
        ]
    }

    private func smsWebhook(_ req: Request) -> String? {
        guard req.application.config.sms != nil else { return nil }
        return req.application.config.publicURL + "/sms/inbound/"
            + TextMessages.webhookKey(secret: req.application.config.secret)
    }

    @Sendable func company(req: Request) async throws -> Response {
        let company = try await Company.load(on: req.db)
        return try await req.page(
            "app/company", title: req.t("company.title"),
            CompanyContent(values: values(company), errors: [:], brand: Brand(company), smsWebhook: smsWebhook(req)))
    }

    @Sendable func saveCompany(req: Request) async throws -> Response {
        let form = try req.content.decode(CompanyForm.self)
        var company = Company(
            name: (form.name ?? "").trimmed, website: (form.website ?? "").trimmed,
            country: (form.country ?? "").trimmed.uppercased())
        var errors: [String: String] = [:]
        var raw = values(company)
        if company.name.isEmpty || company.name.count > 120 { errors["name"] = req.t("error.required") }
        if !company.website.isEmpty,
            !(company.website.hasPrefix("https://") || company.website.hasPrefix("http://"))
                || URL(string: company.website)?.host == nil
        {
            errors["website"] = req.t("error.url_invalid")
        }
        if company.country.count != 2 || !company.country.allSatisfy({ $0.isASCII && $0.isLetter }) {
            errors["country"] = req.t("error.country_invalid")
        }
        company.timeZone = (form.time_zone ?? "").trimmed
        raw["time_zone"] = company.timeZone
        if TimeZone(identifier: company.timeZone) == nil { errors["time_zone"] = req.t("error.time_zone") }
        req.formNumber(
            "sending_opens", form.sending_opens, 0...23, into: &company.sendingOpens, raw: &raw, errors: &errors)
        req.formNumber(
            "sending_closes", form.sending_closes, 1...24, into: &company.sendingCloses, raw: &raw, errors: &errors)
        req.formNumber("no_news_days", form.no_news_days, 1...60, into: &company.noNewsDays, raw: &raw, errors: &errors)
        req.formNumber(
            "silence_days", form.silence_days, 1...60, into: &company.silenceDays, raw: &raw, errors: &errors)
        req.formNumber(
            "reminder_hours", form.reminder_hours, 1...168, into: &company.reminderHours, raw: &raw, errors: &errors)
        raw["brand_color"] = (form.brand_color ?? "").trimmed
        switch BrandColor.parse(form.brand_color ?? "") {
        case .success(let color): company.brandColor = color
        case .failure(.notHex): errors["brand_color"] = req.t("error.brand_color")
        case .failure(.tooLight(let ratio)):
            errors["brand_color"] = req.t("error.brand_color_light").replacingOccurrences(
                of: "%@", with: ratio.formatted(.number.precision(.fractionLength(1)).locale(req.language.locale)))
        }
        let stored = try await Company.load(on: req.db)
        company.logo = stored.logo
        if errors["sending_opens"] == nil, errors["sending_closes"] == nil,
            company.sendingCloses <= company.sendingOpens
        {
            errors["sending_closes"] = req.t("error.window_order")
        }
        guard errors.isEmpty else {
            return try await req.page(
                "app/company", title: req.t("company.title"), status: .unprocessableEntity,
                CompanyContent(values: raw, errors: errors, brand: Brand(stored), smsWebhook: smsWebhook(req)))
        }
        try await company.save(on: req.db)
        req.application.forgetBrand()
        try await req.audit(.settingsChanged, target: "settings:company")
        return req.redirect(to: SiteURL.company, flash: "flash.company_saved")
    }

    struct LogoForm: Content {
        var logo: File?
    }

    /// A new logo (PNG, JPEG or WebP, sniffed, ≤ 512 KB); the previous file is removed once the new one is in use.
    @Sendable func saveLogo(req: Request) async throws -> Response {
        let file = try req.content.decode(LogoForm.self).logo
        let bytes = file.map { Array($0.data.readableBytesView) } ?? []
        let problem: String? =
            if bytes.isEmpty { "error.logo_required" } else if bytes.count > Brand.maxLogoBytes {
                "error.logo_too_large"
            } else if Brand.logoType(bytes) == nil { "error.logo_type" } else { await req.antivirusProblem(bytes) }
        var company = try await Company.load(on: req.db)
        if let problem {
            return try await req.page(
                "app/company", title: req.t("company.title"), status: .unprocessableEntity,
                CompanyContent(
                    values: values(company), errors: ["logo": req.t(problem)], brand: Brand(company),
                    smsWebhook: smsWebhook(req)))
        }
        let previous = company.logo
        company.logo = try req.application.blobs.put(bytes) + "|" + Brand.logoType(bytes)!
        try await company.save(on: req.db)
        req.application.forgetBrand()
        try? Self.removeLogo(previous, req)
        try await req.audit(.settingsChanged, target: "settings:logo", detail: "uploaded")
        return req.redirect(to: SiteURL.company, flash: "flash.logo_saved")
    }

    @Sendable func deleteLogo(req: Request) async throws -> Response {
        var company = try await Company.load(on: req.db)
        let previous = company.logo
        company.logo = ""
        try await company.save(on: req.db)
        req.application.forgetBrand()
        try? Self.removeLogo(previous, req)
        try await req.audit(.settingsChanged, target: "settings:logo", detail: "removed")
        return req.redirect(to: SiteURL.company, flash: "flash.logo_removed")
    }

    private static func removeLogo(_ logo: String, _ req: Request) throws {
        guard let key = logo.split(separator: "|").first else { return }
        try req.application.blobs.delete(String(key))
    }
}

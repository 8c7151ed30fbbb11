import Fluent
import Vapor

/// A user's second factor: enrolment of an authenticator app, recovery codes, turning it off (not for admins, who
/// must keep one).
struct SecurityController {
    struct Content: Encodable {
        var enabled: Bool
        var enabledOn: String?
        var secret: String?
        var uri: String?
        var canTurnOff: Bool
        var codesLeft: Int
        var error: String?
        var required: Bool
    }

    struct PasswordForm: Vapor.Content {
        var current: String?
        var new: String?
        var repeated: String?
    }

    /// A new password (ASVS 6.2.2), after the current one; every other session ends (ASVS 7.4.3).
    @Sendable func changePassword(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let form = try req.content.decode(PasswordForm.self)
        let new = form.new ?? ""
        let problem: String? =
            if !((try? await req.password.async.verify(form.current ?? "", created: user.passwordHash)) ?? false) {
                "security.password_current_wrong"
            } else if let rule = Passwords.problem(new) {
                rule
            } else if new != (form.repeated ?? "") {
                "security.password_mismatch"
            } else { nil }
        if let problem {
            return try await render(req, error: req.t(problem), status: .unprocessableEntity)
        }
        user.passwordHash = try await req.password.async.hash(new)
        try await user.save(on: req.db)
        try await Sessions.closeAll(of: try user.requireID(), keeping: req.userSession?.id, on: req.db)
        try await req.audit(
            .userChanged, target: "user:\(try user.requireID().uuidString.lowercased())", detail: "password changed")
        return req.redirect(to: SiteURL.security, flash: "flash.password_changed")
    }

    struct CodesContent: Encodable {
        var codes: [String]
    }

    struct CodeForm: Vapor.Content {
        var code: String?
    }

    @Sendable func show(req: Request) async throws -> Response {
        try await render(req, error: nil)
    }

    private func render(_ req: Request, error: String?, status: HTTPStatus = .ok) async throws -> Response {
        let user = try req.requireUser()
        var secret: String?
        var uri: String?
        if !user.hasSecondFactor {
            // The secret stays the same until the app proves it has it, so a reload does not undo a scan.
            let raw: [UInt8]
            if let sealed = user.totpSecret, let opened = SecondFactor.open(sealed, with: req.application.config.secret)
            {
                raw = opened
            } else {
                raw = TOTP.newSecret()
                user.totpSecret = try SecondFactor.seal(raw, with: req.application.config.secret)
                try await user.save(on: req.db)
            }
            let encoded = Base32.encode(raw)
            secret = stride(from: 0, to: encoded.count, by: 4).map {
                let start = encoded.index(encoded.startIndex, offsetBy: $0)
                return String(
                    encoded[
                        start..<(encoded.index(start, offsetBy: 4, limitedBy: encoded.endIndex) ?? encoded.endIndex)])
            }.joined(separator: " ")
            let company = try await Company.load(on: req.db)
            uri = TOTP.uri(secret: raw, account: user.email, issuer: "Vivier \(company.name)")
        }
        let codesLeft = try await RecoveryCode.query(on: req.db).filter(\.$user.$id == user.requireID())
            .filter(\.$usedAt == nil).count()
        return try await req.page(
            "app/security", title: req.t("security.title"), status: status,
            Content(
                enabled: user.hasSecondFactor, enabledOn: user.totpEnabledAt.map { Dates.day($0, req.language) },
                secret: secret, uri: uri, canTurnOff: user.hasSecondFactor && !user.isAdmin, codesLeft: codesLeft,
                error: error, required: user.mustEnrolSecondFactor))
    }

    /// The first code from the app turns the second factor on and gives the recovery codes, once.
    @Sendable func enable(req: Request) async throws -> Response {
        let user = try req.requireUser()
        guard !user.hasSecondFactor, let sealed = user.totpSecret,
            let secret = SecondFactor.open(sealed, with: req.application.config.secret)
        else { return req.redirect(to: SiteURL.security) }
        let typed = try req.content.decode(CodeForm.self).code ?? ""
        guard let step = TOTP.matchingCounter(typed, secret: secret, at: req.now, after: nil) else {
            return try await render(req, error: req.t("security.code_wrong"), status: .unprocessableEntity)
        }
        user.totpEnabledAt = req.now
        user.totpLastStep = step
        try await user.save(on: req.db)
        let codes = try await SecondFactor.newRecoveryCodes(for: try user.requireID(), on: req.db)
        try await req.audit(
            .userChanged, target: "user:\(try user.requireID().uuidString.lowercased())", detail: "second factor on")
        return try await req.page(
            "app/security_codes", title: req.t("security.codes_title"), CodesContent(codes: codes))
    }

    /// New recovery codes (the old ones stop working), after a current code.
    @Sendable func recoveryCodes(req: Request) async throws -> Response {
        let user = try req.requireUser()
        guard user.hasSecondFactor else { return req.redirect(to: SiteURL.security) }
        guard try await currentCodeAccepted(req, user) else {
            return try await render(req, error: req.t("security.code_wrong"), status: .unprocessableEntity)
        }
        let codes = try await SecondFactor.newRecoveryCodes(for: try user.requireID(), on: req.db)
        try await req.audit(
            .userChanged, target: "user:\(try user.requireID().uuidString.lowercased())", detail: "new recovery codes")
        return try await req.page(
            "app/security_codes", title: req.t("security.codes_title"), CodesContent(codes: codes))
    }

    /// Changes to a working second factor ask for a current code (or a recovery code) first.
    private func currentCodeAccepted(_ req: Request, _ user: User) async throws -> Bool {
        let typed = try req.content.decode(CodeForm.self).code ?? ""
        return try await SecondFactor.verify(
            typed, for: user, config: req.application.config, on: req.db, now: req.now) != nil
    }

    @Sendable func disable(req: Request) async throws -> Response {
        let user = try req.requireUser()
        guard user.hasSecondFactor, !user.isAdmin else { throw Abort(.forbidden) }
        guard try await currentCodeAccepted(req, user) else {
            return try await render(req, error: req.t("security.code_wrong"), status: .unprocessableEntity)
        }
        let id = try user.requireID()
        try await req.db.transaction { db in
            user.totpSecret = nil
            user.totpEnabledAt = nil
            user.totpLastStep = nil
            try await user.save(on: db)
            try await RecoveryCode.query(on: db).filter(\.$user.$id == id).delete()
        }
        try await req.audit(.userChanged, target: "user:\(id.uuidString.lowercased())", detail: "second factor off")
        return req.redirect(to: SiteURL.security, flash: "flash.second_factor_off")
    }
}

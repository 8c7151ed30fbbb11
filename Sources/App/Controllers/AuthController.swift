import Fluent
import Vapor
import VivierCore
import VivierMail

/// Signing in and out, and the one-time setup of the first admin.
struct AuthController {
    struct LoginContent: Encodable {
        var next: String
        var email: String
        var error: String?
    }

    struct LoginForm: Content {
        var email: String?
        var password: String?
        var next: String?
    }

    @Sendable func loginForm(req: Request) async throws -> Response {
        if req.currentUser != nil { return req.redirect(to: SiteURL.dashboard) }
        return try await req.page(
            "auth/login", title: req.t("login.title"),
            LoginContent(next: safeNext(req.query[String.self, at: "next"]), email: "", error: nil))
    }

    @Sendable func login(req: Request) async throws -> Response {
        let form = try req.content.decode(LoginForm.self)
        let email = EmailAddress.normalize(form.email ?? "")
        let password = form.password ?? ""
        let limitKey = "\(email)|\(req.clientAddress)"
        if try await RateLimiter.failedLogin.isExceeded(key: limitKey, on: req.db, now: req.now) {
            return try await req.page(
                "auth/login", title: req.t("login.title"), status: .tooManyRequests,
                LoginContent(next: safeNext(form.next), email: email, error: req.t("login.rate_limited")))
        }
        let user = try await User.query(on: req.db).filter(\.$email == email).first()
        // Verify a hash even for unknown addresses so response time does not reveal which accounts exist.
        let hash = user?.passwordHash ?? Self.decoyHash
        let matches = (try? await req.password.async.verify(password, created: hash)) ?? false
        guard let user, user.active, matches else {
            try await RateLimiter.failedLogin.record(key: limitKey, on: req.db, now: req.now)
            req.logger.notice("login failed", metadata: ["reason": "bad credentials"])
            // The account when it exists; an unknown address is not written down (it may be a typed password).
            try await AuditLog.record(
                .loginFailed, actor: nil, label: user?.email ?? "unknown account",
                target: user.map { "user:\($0.id?.lowercasedString ?? "")" } ?? "", ip: req.clientAddress,
                on: req.db, now: req.now)
            return try await req.page(
                "auth/login", title: req.t("login.title"), status: .unauthorized,
                LoginContent(next: safeNext(form.next), email: email, error: req.t("login.failed")))
        }
        try await RateLimiter.failedLogin.reset(key: limitKey, on: req.db)
        if user.hasSecondFactor {
            // The password is right; the session waits for the app's code (5 minutes, this browser only).
            let pending = SignedLink.make(
                ["2fa", try user.requireID().lowercasedString, safeNext(form.next).filter { $0 != "|" }],
                expires: req.now + 300, secret: req.application.config.secret)
            let response = req.redirect(to: SiteURL.loginCode)
            response.cookies[Self.pendingCookie] = HTTPCookies.Value(
                string: pending, maxAge: 300, path: "/login", isSecure: req.application.config.production,
                isHTTPOnly: true, sameSite: .lax)
            return response
        }
        return try await signIn(user, next: safeNext(form.next), detail: "", req)
    }

    static let pendingCookie = "vivier_2fa"

    /// The user whose password was right a moment ago in this browser, and where they were going.
    private func pending(_ req: Request) async throws -> (User, String)? {
        guard let value = req.cookies[Self.pendingCookie]?.string,
            case .success(let fields) = SignedLink.open(value, secret: req.application.config.secret, now: req.now),
            fields.count == 3, fields[0] == "2fa", let id = UUID(uuidString: fields[1]),
            let user = try await User.find(id, on: req.db), user.active, user.hasSecondFactor
        else { return nil }
        return (user, fields[2])
    }

    struct CodeContent: Encodable {
        var error: String?
    }

    struct CodeForm: Content {
        var code: String?
    }

    @Sendable func codeForm(req: Request) async throws -> Response {
        guard try await pending(req) != nil else { return req.redirect(to: SiteURL.login) }
        return try await req.page("auth/code", title: req.t("login.code_title"), CodeContent(error: nil))
    }

    @Sendable func code(req: Request) async throws -> Response {
        guard let (user, next) = try await pending(req) else { return req.redirect(to: SiteURL.login) }
        let key = try user.requireID().lowercasedString
        func refuse(_ message: String, _ status: HTTPStatus) async throws -> Response {
            try await req.page(
                "auth/code", title: req.t("login.code_title"), status: status, CodeContent(error: message))
        }
        if try await RateLimiter.secondFactor.isExceeded(key: key, on: req.db, now: req.now) {
            return try await refuse(req.t("login.rate_limited"), .tooManyRequests)
        }
        let typed = try req.content.decode(CodeForm.self).code ?? ""
        guard
            let method = try await SecondFactor.verify(
                typed, for: user, config: req.application.config, on: req.db, now: req.now)
        else {
            try await RateLimiter.secondFactor.record(key: key, on: req.db, now: req.now)
            try await AuditLog.record(
                .loginFailed, actor: nil, label: user.email, target: "user:\(key)", detail: "wrong code",
                ip: req.clientAddress, on: req.db, now: req.now)
            return try await refuse(req.t("login.code_wrong"), .unauthorized)
        }
        try await RateLimiter.secondFactor.reset(key: key, on: req.db)
        let response = try await signIn(user, next: next, detail: "with \(method.rawValue)", req)
        response.cookies[Self.pendingCookie] = HTTPCookies.Value(
            string: "", expires: Date(timeIntervalSince1970: 0), path: "/login")
        return response
    }

    /// A new session (a fresh token, ASVS 7.2.4), recorded in the audit log.
    private func signIn(_ user: User, next: String, detail: String, _ req: Request) async throws -> Response {
        if let previous = req.userSession { try await Sessions.close(previous, on: req.db) }
        let cookie = try await Sessions.open(for: user, on: req)
        try await AuditLog.record(
            .login, actor: user, target: "user:\(try user.requireID().lowercasedString)", detail: detail,
            ip: req.clientAddress, on: req.db, now: req.now)
        let response = req.redirect(to: next)
        response.cookies[Sessions.cookieName(production: req.application.config.production)] = cookie
        response.cookies[CSRFMiddleware.cookie] = .expired
        return response
    }

    @Sendable func logout(req: Request) async throws -> Response {
        if let session = req.userSession {
            try await Sessions.close(session, on: req.db)
            try await req.audit(.logout, target: "user:\(session.$user.id.lowercasedString)")
        }
        let response = req.redirect(to: SiteURL.login, flash: "flash.logged_out")
        response.cookies[Sessions.cookieName(production: req.application.config.production)] = .expired
        return response
    }

    // MARK: - First admin

    struct SetupContent: Encodable {
        var token: String
        var values: [String: String]
        var errors: [String: String]
    }

    struct SetupForm: Content {
        var name: String?
        var email: String?
        var password: String?
        var company: String?
    }

    // MARK: - Forgotten password

    struct ForgotContent: Encodable {
        var email: String
        /// The request was taken: the same words whether the address has an account or not.
        var sent: Bool
        var error: String?
    }

    @Sendable func forgotForm(req: Request) async throws -> Response {
        try await req.page("auth/forgot", title: req.t("reset.title"), ForgotContent(email: "", sent: false))
    }

    struct ForgotForm: Content {
        var email: String?
    }

    /// Mails a single-use link valid an hour to an active account with this address. The answer is the same for
    /// an unknown address, so the form does not tell who has an account (ASVS 6.3.x).
    @Sendable func forgot(req: Request) async throws -> Response {
        let email = EmailAddress.normalize((try? req.content.decode(ForgotForm.self))?.email ?? "")
        guard EmailAddress.isValid(email) else {
            return try await req.page(
                "auth/forgot", title: req.t("reset.title"), status: .unprocessableEntity,
                ForgotContent(email: email, sent: false, error: req.t("error.email_invalid")))
        }
        for key in [req.clientAddress, email] {
            if try await RateLimiter.passwordReset.isExceeded(key: key, on: req.db, now: req.now) {
                return try await req.page(
                    "auth/forgot", title: req.t("reset.title"), status: .tooManyRequests,
                    ForgotContent(email: email, sent: false, error: req.t("login.rate_limited")))
            }
            try await RateLimiter.passwordReset.record(key: key, on: req.db, now: req.now)
        }
        if let user = try await User.query(on: req.db).filter(\.$email == email).filter(\.$active == true).first() {
            let token = Tokens.random()
            let userID = try user.requireID()
            let config = req.application.config
            let now = req.now
            try await req.db.writeTransaction { db in
                try await PasswordReset(userID: userID, tokenHash: Tokens.hash(token), now: now).create(on: db)
                _ = try await Outbox.enqueue(
                    try Self.resetMessage(
                        to: user, link: config.publicURL + "/login/reset/\(token)", from: config.mail.from),
                    kind: "password_reset", dedupeKey: "reset:\(Tokens.hash(token))", transactional: true,
                    candidateID: nil, on: db, now: now)
            }
            try await AuditLog.record(
                .passwordResetRequested, actor: user, target: "user:\(userID.api)", ip: req.clientAddress, on: req.db,
                now: req.now)
        }
        return try await req.page("auth/forgot", title: req.t("reset.title"), ForgotContent(email: "", sent: true))
    }

    static func resetMessage(to user: User, link: String, from sender: MailAddress) throws -> MailMessage {
        let fr = user.locale != Language.en.rawValue
        let text =
            (fr
            ? [
                "Bonjour \(user.name),", "",
                "Quelqu'un (vous, sans doute) a demandé à changer le mot de passe de votre compte Vivier.",
                "Pour en choisir un nouveau, ouvrez ce lien dans l'heure ; il ne sert qu'une fois :", "", link, "",
                "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe ne change pas.",
            ]
            : [
                "Hello \(user.name),", "",
                "Someone (most likely you) asked to change the password of your Vivier account.",
                "To choose a new one, open this link within the hour; it works once:", "", link, "",
                "If you did not ask, ignore this message: your password stays as it is.",
            ]).joined(separator: "\n")
        return MailMessage(
            from: sender, to: [try MailAddress(user.email, name: user.name)],
            subject: fr ? "Vivier — choisir un nouveau mot de passe" : "Vivier — choose a new password", text: text,
            extraHeaders: [("Auto-Submitted", "auto-generated")])
    }

    struct ResetContent: Encodable {
        var token: String
        var error: String?
    }

    @Sendable func resetForm(req: Request) async throws -> Response {
        let (_, token) = try await validReset(req)
        let response = try await req.page("auth/reset", title: req.t("reset.title"), ResetContent(token: token))
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
        return response
    }

    struct ResetForm: Content {
        var password: String?
        var confirm: String?
    }

    /// Sets the new password, spends the link and every other one of the user's, and signs them out everywhere.
    /// The second factor still applies at the next sign-in.
    @Sendable func reset(req: Request) async throws -> Response {
        let (reset, token) = try await validReset(req)
        let form = try req.content.decode(ResetForm.self)
        let password = form.password ?? ""
        var problem = Passwords.problem(password).map(req.t)
        if problem == nil && password != (form.confirm ?? "") { problem = req.t("reset.mismatch") }
        if let problem {
            return try await req.page(
                "auth/reset", title: req.t("reset.title"), status: .unprocessableEntity,
                ResetContent(token: token, error: problem))
        }
        let hash = try await req.password.async.hash(password)
        let userID = reset.$user.id
        let now = req.now
        try await req.db.writeTransaction { db in
            guard let user = try await User.find(userID, on: db) else { throw Abort(.notFound) }
            user.passwordHash = hash
            try await user.save(on: db)
            try await PasswordReset.query(on: db).filter(\.$user.$id == userID).filter(\.$usedAt == nil)
                .set(\.$usedAt, to: now).update()
            try await Sessions.closeAll(of: userID, on: db)
        }
        try await AuditLog.record(
            .passwordReset, actor: try await User.find(userID, on: req.db), target: "user:\(userID.api)",
            ip: req.clientAddress, on: req.db, now: req.now)
        return req.redirect(to: "/login", flash: "flash.password_reset")
    }

    private func validReset(_ req: Request) async throws -> (PasswordReset, String) {
        guard let token = req.parameters.get("token"),
            let reset = try await PasswordReset.query(on: req.db).filter(\.$tokenHash == Tokens.hash(token)).first(),
            reset.usedAt == nil, reset.expiresAt > req.now,
            let user = try await User.find(reset.$user.id, on: req.db), user.active
        else { throw Abort(.notFound, reason: req.t("reset.invalid")) }
        return (reset, token)
    }

    @Sendable func setupForm(req: Request) async throws -> Response {
        let token = try await validSetupToken(req)
        return try await req.page(
            "auth/setup", title: req.t("setup.title"), SetupContent(token: token.1, values: [:], errors: [:]))
    }

    @Sendable func setup(req: Request) async throws -> Response {
        let (setupToken, token) = try await validSetupToken(req)
        let form = try req.content.decode(SetupForm.self)
        let name = (form.name ?? "").trimmed
        let email = EmailAddress.normalize(form.email ?? "")
        let password = form.password ?? ""
        let companyName = (form.company ?? "").trimmed
        var errors: [String: String] = [:]
        if name.isEmpty { errors["name"] = req.t("error.required") }
        if !EmailAddress.isValid(email) { errors["email"] = req.t("error.email_invalid") }
        if let problem = Passwords.problem(password) { errors["password"] = req.t(problem) }
        if companyName.isEmpty { errors["company"] = req.t("error.required") }
        guard errors.isEmpty else {
            return try await req.page(
                "auth/setup", title: req.t("setup.title"), status: .unprocessableEntity,
                SetupContent(
                    token: token, values: ["name": name, "email": email, "company": companyName], errors: errors))
        }
        let hash = try await req.password.async.hash(password)
        let user = User(email: email, name: name, role: .admin, passwordHash: hash, locale: req.language.rawValue)
        try await req.db.transaction { db in
            setupToken.usedAt = req.now
            try await setupToken.save(on: db)
            try await user.create(on: db)
            var company = try await Company.load(on: db)
            company.name = companyName
            try await company.save(on: db)
        }
        try await AuditLog.record(
            .userCreated, actor: user, target: "user:\(try user.requireID().lowercasedString)",
            detail: "first admin, from the setup link", ip: req.clientAddress, on: req.db, now: req.now)
        let cookie = try await Sessions.open(for: user, on: req)
        let response = req.redirect(to: SiteURL.dashboard, flash: "flash.welcome")
        response.cookies[Sessions.cookieName(production: req.application.config.production)] = cookie
        return response
    }

    private func validSetupToken(_ req: Request) async throws -> (SetupToken, String) {
        guard let token = req.parameters.get("token"),
            let setup = try await SetupToken.query(on: req.db).filter(\.$tokenHash == Tokens.hash(token)).first(),
            setup.usedAt == nil, setup.expiresAt > req.now,
            try await User.query(on: req.db).filter(\.$role == .admin).count() == 0
        else { throw Abort(.notFound, reason: req.t("setup.invalid")) }
        return (setup, token)
    }

    /// Only local paths: `next` must never send a user to another site after login.
    private func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/app"), !next.hasPrefix("//"), !next.contains("\\") else {
            return SiteURL.dashboard
        }
        return next
    }

    /// A Bcrypt hash of a random string at the default cost, verified against when the account does not exist.
    static let decoyHash: String = (try? Bcrypt.hash(Tokens.random())) ?? ""
}

/// Password rules of ASVS 6.2: at least 8 characters, 64 and more allowed, common passwords refused, no composition
/// rules, verified exactly as typed.
enum Passwords {
    static let minimum = 8
    /// At least 64 must be allowed (ASVS 6.2.9); the password is checked exactly as typed, never trimmed or cut.
    static let maximum = 128

    /// The common passwords refused at sign-up (ASVS 6.2.4), from `Resources/Security/common-passwords.txt`: the
    /// 3,400 most common ones, lower case. Read once; `configure` stops the boot when the file is missing.
    static let common: Set<String> = {
        let file = URL(fileURLWithPath: DirectoryConfiguration.detect().resourcesDirectory)
            .appendingPathComponent("Security/common-passwords.txt")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0).lowercased() })
    }()

    /// A message key when `password` is not acceptable, nil when it is. No composition rules (ASVS 6.2.5).
    static func problem(_ password: String) -> String? {
        if password.count < minimum { return "error.password_short" }
        if password.count > maximum { return "error.password_long" }
        if common.contains(password.lowercased()) { return "error.password_common" }
        return nil
    }
}

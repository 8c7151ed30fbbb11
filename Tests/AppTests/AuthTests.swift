import Fluent
import Foundation
import Testing
import Vapor
import VivierMail

@testable import App

@Suite("Signing in, sessions and form protection")
struct AuthTests {
    @Test func login_rotatesTheSessionAndLogoutKillsItServerSide() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            let cookie = try #require(browser.cookies["vivier_session"])
            #expect(try await browser.get("/app").status == .ok)
            // Log in again: a new token, and the old one is gone.
            try await browser.login("ana@example.com")
            #expect(browser.cookies["vivier_session"] != cookie)
            let stolen = Browser(app)
            stolen.cookies["vivier_session"] = cookie
            #expect(try await stolen.get("/app").status == .seeOther)
            // Logout deletes the session row: replaying the cookie no longer works.
            let current = try #require(browser.cookies["vivier_session"])
            try await browser.post("/logout", [])
            let replay = Browser(app)
            replay.cookies["vivier_session"] = current
            #expect(try await replay.get("/app").location?.hasPrefix("/login") == true)
            #expect(try await UserSession.query(on: app.db).count() == 0)
        }
    }

    @Test func login_wrongPasswordAndUnknownUserLookTheSame() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let browser = Browser(app)
            try await browser.open("/login")
            let wrong = try await browser.post(
                "/login", [("email", "ana@example.com"), ("password", "not the password")])
            let unknown = try await browser.post(
                "/login", [("email", "nobody@example.com"), ("password", "not the password")])
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            #expect(
                wrong.body.contains("Adresse ou mot de passe incorrect.")
                    && unknown.body.contains("Adresse ou mot de passe incorrect."))
        }
    }

    @Test func forgottenPassword_linkByEmailOnceWithinAnHour() async throws {
        try await withApp { app, clock in
            let user = try await Fixtures.user(app, "lea@example.com", role: .recruiter)
            let signedIn = Browser(app)
            try await signedIn.login("lea@example.com")
            let browser = Browser(app)
            _ = try await browser.get("/login/forgot")

            // An unknown address gets the same answer and no mail.
            let unknown = try await browser.post("/login/forgot", [("email", "nobody@example.com")])
            let known = try await browser.post("/login/forgot", [("email", "LEA@example.com")])
            #expect(unknown.status == .ok && known.status == .ok)
            let sentence = app.translations.text("reset.sent", .fr).replacingOccurrences(of: "'", with: "&#39;")
            #expect(unknown.body.contains(sentence) && known.body.contains(sentence))
            let mails = try await OutboxMessage.query(on: app.db).filter(\.$kind == "password_reset").all()
            #expect(mails.map(\.recipient) == ["lea@example.com"])
            func text(_ mail: OutboxMessage) async throws -> String {
                MailReader(Array(try await mail.body(on: app.db).utf8)).part("text/plain")?.text ?? ""
            }
            let first = try #require(mails.first)
            let link = try #require(try await text(first).firstMatch(of: /\/login\/reset\/([A-Za-z0-9_-]{43})/))
            let path = "/login/reset/\(link.1)"

            // A weak or mistyped password is refused; the link still works.
            #expect(try await browser.get(path).status == .ok)
            let weak = try await browser.post(path, [("password", "password"), ("confirm", "password")])
            #expect(weak.status == .unprocessableEntity)
            let typo = try await browser.post(
                path, [("password", "a new long phrase"), ("confirm", "a new long phrase!")])
            #expect(typo.status == .unprocessableEntity)
            let done = try await browser.post(
                path, [("password", "a new long phrase"), ("confirm", "a new long phrase")])
            #expect(done.status == .seeOther && done.location == "/login")

            // Once only; the old password is gone, the new one works, and the other session was ended.
            #expect(try await browser.get(path).status == .notFound)
            #expect(try await signedIn.get("/app").location?.hasPrefix("/login") == true)
            let stale = Browser(app)
            _ = try await stale.open("/login")
            #expect(
                try await stale.post("/login", [("email", "lea@example.com"), ("password", Fixtures.password)]).status
                    == .unauthorized)
            try await Browser(app).login("lea@example.com", "a new long phrase")
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "password_reset").count() == 1)

            // A link older than an hour is refused.
            _ = try await browser.get("/login/forgot")
            let again = try await browser.post("/login/forgot", [("email", "lea@example.com")])
            #expect(again.status == .ok)
            var links: [String] = []
            for mail in try await OutboxMessage.query(on: app.db).filter(\.$kind == "password_reset").all() {
                if let found = try await text(mail).firstMatch(of: /\/login\/reset\/([A-Za-z0-9_-]{43})/) {
                    links.append(String(found.1))
                }
            }
            let second = try #require(links.first { $0 != String(link.1) })
            clock.advance(by: PasswordReset.lifetime + 1)
            #expect(try await browser.get("/login/reset/\(second)").status == .notFound)
            _ = user
        }
    }

    @Test func login_sixthFailureIn15MinutesIsRefusedWithoutLockingForever() async throws {
        try await withApp { app, clock in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let browser = Browser(app)
            try await browser.open("/login")
            for _ in 0..<5 {
                #expect(
                    try await browser.post("/login", [("email", "ana@example.com"), ("password", "wrong password")])
                        .status == .unauthorized)
            }
            let blocked = try await browser.post(
                "/login", [("email", "ana@example.com"), ("password", Fixtures.password)])
            #expect(blocked.status == .tooManyRequests)
            clock.advance(by: 15 * 60 + 1)
            #expect(
                try await browser.post("/login", [("email", "ana@example.com"), ("password", Fixtures.password)]).status
                    == .seeOther)
        }
    }

    @Test func session_expiresAfterIdleTimeAndWhenUserIsDisabled() async throws {
        try await withApp { app, clock in
            let admin = try await Fixtures.user(app, "admin@example.com", role: .admin)
            let ana = try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let anaBrowser = Browser(app)
            try await anaBrowser.login("ana@example.com")
            clock.advance(by: Sessions.idleTimeout + 1)
            #expect(try await anaBrowser.get("/app").status == .seeOther)
            try await anaBrowser.login("ana@example.com")
            let adminBrowser = Browser(app)
            try await adminBrowser.login(admin.email)
            try await adminBrowser.open("/app/users")
            let update = try await adminBrowser.post(
                "/app/users/\(try ana.requireID().uuidString.lowercased())", [("role", "recruiter")])
            #expect(update.status == .seeOther)
            #expect(try await anaBrowser.get("/app").status == .seeOther, "a disabled user is signed out at once")
            #expect(try await User.find(ana.id, on: app.db)?.active == false)
        }
    }

    @Test func csrf_formsWithoutTokenOrFromAnotherSiteAreRefused() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            let noteURL = "/app/jobs/\(try job.requireID().uuidString.lowercased())/status"
            #expect(try await browser.post(noteURL, [("status", "closed")], csrf: "").status == .forbidden)
            #expect(try await browser.post(noteURL, [("status", "closed")], csrf: "forged").status == .forbidden)
            #expect(
                try await browser.post(noteURL, [("status", "closed")], headers: ["Origin": "https://evil.example"])
                    .status == .forbidden)
            #expect(
                try await browser.post(noteURL, [("status", "closed")], headers: ["Sec-Fetch-Site": "cross-site"])
                    .status == .forbidden)
            #expect(try await Job.find(job.id, on: app.db)?.status == .open)
            #expect(try await browser.post(noteURL, [("status", "closed")]).status == .seeOther)
            #expect(try await Job.find(job.id, on: app.db)?.status == .closed)
            // The public forms too: a login post without the visitor token is refused.
            let anonymous = Browser(app)
            #expect(
                try await anonymous.post(
                    "/login", [("email", "ana@example.com"), ("password", Fixtures.password)], csrf: ""
                ).status == .forbidden)
        }
    }

    @Test func setup_linkCreatesTheFirstAdminOnce() async throws {
        try await withApp { app, _ in
            let token = Tokens.random()
            try await SetupToken(tokenHash: Tokens.hash(token), expiresAt: app.clock.now() + 3600).create(on: app.db)
            let browser = Browser(app)
            try await browser.open("/setup/\(token)")
            let weak = try await browser.post(
                "/setup/\(token)",
                [("company", "Atelier"), ("name", "Ana"), ("email", "ana@example.com"), ("password", "password")])
            #expect(weak.status == .unprocessableEntity && weak.body.contains("trop courant"))
            let done = try await browser.post(
                "/setup/\(token)",
                [
                    ("company", "Atelier"), ("name", "Ana"), ("email", "ana@example.com"),
                    ("password", Fixtures.password),
                ])
            #expect(done.status == .seeOther)
            #expect(try await User.query(on: app.db).first()?.role == .admin)
            #expect(try await Company.load(on: app.db).name == "Atelier")
            #expect(try await Browser(app).get("/setup/\(token)").status == .notFound)
        }
    }

    @Test func responses_carrySecurityHeaders() async throws {
        try await withApp { app, _ in
            for path in ["/careers", "/login", "/healthz", "/nope"] {
                let page = try await Browser(app).get(path)
                #expect(
                    page.headers.first(name: "Content-Security-Policy")?.contains("object-src 'none'") == true,
                    "\(path)")
                #expect(page.headers.first(name: "X-Content-Type-Options") == "nosniff")
            }
        }
    }

    @Test func passwords_lengthAndCommonList_noCompositionRules_exactlyAsTyped() async throws {
        #expect(Passwords.common.count >= 3000 && Passwords.common.contains("iloveyou"))
        #expect(Passwords.problem("seven77") == "error.password_short")
        #expect(Passwords.problem("ILoveYou") == "error.password_common", "compared in lower case")
        #expect(Passwords.problem("sunshine") == "error.password_common")
        #expect(Passwords.problem("only lower case letters") == nil, "no composition rules")
        #expect(Passwords.problem(String(repeating: "x", count: 129)) == "error.password_long")
        try await withApp { app, _ in
            try await Fixtures.user(app, "admin@example.com", role: .admin)
            let admin = Browser(app)
            try await admin.login("admin@example.com")
            // 64 characters ending with a space: kept exactly, so the trimmed one does not open the door.
            let long = String(repeating: "ab", count: 31) + "x "
            try await admin.open("/app/users")
            let created = try await admin.post(
                "/app/users",
                [("name", "Léa"), ("email", "lea@example.com"), ("role", "recruiter"), ("password", long)])
            #expect(created.status == .seeOther)
            let common = try await admin.post(
                "/app/users",
                [("name", "Max"), ("email", "max@example.com"), ("role", "recruiter"), ("password", "Password123")])
            #expect(common.status == .unprocessableEntity && common.body.contains("trop courant"))
            func signIn(_ password: String) async throws -> HTTPStatus {
                let browser = Browser(app)
                try await browser.open("/login")
                return try await browser.post("/login", [("email", "lea@example.com"), ("password", password)]).status
            }
            #expect(try await signIn(long) == .seeOther)
            #expect(try await signIn(String(long.dropLast())) == .unauthorized)
        }
    }

    @Test func sessionCookie_isHttpOnlyAndSameSite() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let browser = Browser(app)
            try await browser.open("/login")
            let page = try await browser.post(
                "/login", [("email", "ana@example.com"), ("password", Fixtures.password)])
            let cookie = try #require(page.headers[.setCookie].first { $0.hasPrefix("vivier_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"))
        }
    }

    @Test func passwordChange_needsTheCurrentOne_andEndsTheOtherSessions() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let here = Browser(app), elsewhere = Browser(app)
            try await here.login("ana@example.com")
            try await elsewhere.login("ana@example.com")
            try await here.open(SiteURL.security)
            func change(_ current: String, _ new: String, _ repeated: String) async throws -> Browser.Page {
                try await here.post(
                    "/app/security/password", [("current", current), ("new", new), ("repeated", repeated)])
            }
            let wrong = try await change("not mine", "a brand new sentence", "a brand new sentence")
            #expect(wrong.status == .unprocessableEntity && wrong.body.contains("ne correspond pas"))
            #expect(try await change(Fixtures.password, "iloveyou", "iloveyou").body.contains("trop courant"))
            #expect(
                try await change(Fixtures.password, "a brand new sentence", "a brand new sentense").status
                    == .unprocessableEntity)
            #expect(
                try await change(Fixtures.password, "a brand new sentence", "a brand new sentence").status
                    == .seeOther)
            #expect(try await here.get("/app").status == .ok, "this session stays")
            #expect(try await elsewhere.get("/app").status == .seeOther, "the other one ends")
            let again = Browser(app)
            try await again.open("/login")
            #expect(
                try await again.post("/login", [("email", "ana@example.com"), ("password", Fixtures.password)]).status
                    == .unauthorized)
            #expect(
                try await again.post("/login", [("email", "ana@example.com"), ("password", "a brand new sentence")])
                    .status == .seeOther)
            #expect(
                try await AuditEvent.query(on: app.db).filter(\.$detail == "password changed").count() == 1)
        }
    }

    @Test func signedLinks_base64urlAsFoundationWritesIt_andOpenAgain() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Data(bytes).base64URLEncoded == expected)
            #expect(Data(base64URL: expected) == Data(bytes))
        }
        let secret = Array(repeating: UInt8(7), count: 32)
        let token = SignedLink.make(["c", "Hélène", "3"], expires: Date() + 60, secret: secret)
        #expect(try SignedLink.open(token, secret: secret, now: Date()).get() == ["c", "Hélène", "3"])
        #expect(Tokens.sign("x", secret: secret) == Data(Tokens.mac("x", secret: secret)).base64URLEncoded)
    }
}

import Fluent
import Foundation
import Testing
import Vapor

@testable import App

@Suite("Two-factor sign-in: authenticator apps (RFC 6238) and recovery codes")
struct SecondFactorTests {
    @Test func codes_matchTheRFCTestVectors() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 8 digits.
        let secret = Array("12345678901234567890".utf8)
        for (time, expected) in [
            (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"), (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
        ] {
            let counter = TOTP.counter(at: Date(timeIntervalSince1970: TimeInterval(time)))
            #expect(TOTP.code(secret: secret, counter: counter, digits: 8) == expected, "T=\(time)")
        }
        #expect(Base32.encode(Array("foobar".utf8)) == "MZXW6YTBOI")  // RFC 4648 §10, unpadded
        #expect(Base32.decode("MZXW 6YTB OI") == Array("foobar".utf8))
        let uri = TOTP.uri(secret: secret, account: "ana@example.com", issuer: "Vivier Atelier Boréal")
        #expect(uri.hasPrefix("otpauth://totp/Vivier%20Atelier%20Bor%C3%A9al:ana@example.com?secret=GEZDGNBVGY3TQOJQ"))
        #expect(uri.hasSuffix("&algorithm=SHA1&digits=6&period=30"))
    }

    @Test func anAdmin_mustEnrol_thenSignsInWithACode_onceEach_orARecoveryCode() async throws {
        try await withApp { app, clock in
            let admin = User(
                email: "root@example.com", name: "Root", role: .admin,
                passwordHash: try app.password.hash(Fixtures.password), locale: "fr")
            try await admin.create(on: app.db)
            let browser = Browser(app)
            try await browser.login("root@example.com")

            // Everything leads to the enrolment page until the app is set up.
            #expect(try await browser.get("/app/candidates").location == SiteURL.security)
            #expect(try await browser.post("/app/company", []).status == .forbidden)
            let page = try await browser.open(SiteURL.security)
            #expect(page.body.contains("otpauth://totp/") && page.body.contains("Les administrateurs doivent"))
            let stored = try #require(try await User.find(admin.id, on: app.db)?.totpSecret)
            let secret = try #require(SecondFactor.open(stored, with: app.config.secret))
            #expect(!stored.contains(Base32.encode(secret)) && Data(base64Encoded: stored) != nil, "sealed, not plain")
            #expect(SecondFactor.open(stored, with: Array("another installation secret 0123456789".utf8)) == nil)
            // The page's key is the stored one.
            let shown = try #require(page.body.firstMatch(of: #/id="totp-secret">([A-Z2-7 ]+)</#)?.output.1)
            #expect(Base32.decode(String(shown)) == secret)
            let wrong = try await browser.post("/app/security/totp", [("code", "000000")])
            #expect(wrong.status == .unprocessableEntity && wrong.body.contains("ne convient pas"))
            let code = TOTP.code(secret: secret, counter: TOTP.counter(at: clock.now()))
            let enabled = try await browser.post("/app/security/totp", [("code", code)])
            let recovery = enabled.body.matches(of: #/<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>/#).map {
                String($0.output.1)
            }
            #expect(enabled.status == .ok && recovery.count == 10 && Set(recovery).count == 10)
            #expect(try await browser.get("/app/candidates").status == .ok)
            _ = try await browser.post("/logout", [])

            // Sign-in: password, then the code; the same code a second time is refused.
            func signIn(_ typed: String, as visitor: Browser = Browser(app)) async throws -> Browser.Page {
                try await visitor.open("/login")
                let first = try await visitor.post(
                    "/login", [("email", "root@example.com"), ("password", Fixtures.password)])
                #expect(first.location == SiteURL.loginCode, "no session before the code")
                #expect(try await visitor.get("/app").status == .seeOther)
                _ = try await visitor.open(SiteURL.loginCode)
                return try await visitor.post(SiteURL.loginCode, [("code", typed)])
            }
            clock.advance(by: 30)
            let fresh = TOTP.code(secret: secret, counter: TOTP.counter(at: clock.now()))
            #expect(try await signIn(fresh).status == .seeOther)
            #expect(try await signIn(fresh).status == .unauthorized, "a code works once")
            #expect(try await signIn(recovery[0]).status == .seeOther)
            #expect(try await signIn(recovery[0]).status == .unauthorized, "a recovery code works once")
            // Five wrong codes and the account waits, even with the right one.
            for _ in 0..<4 { _ = try await signIn("123456") }
            clock.advance(by: 30)
            let next = TOTP.code(secret: secret, counter: TOTP.counter(at: clock.now()))
            #expect(try await signIn(next).status == .tooManyRequests)

            // Admins cannot turn it off.
            let again = Browser(app)
            clock.advance(by: 16 * 60)
            #expect(try await signIn(recovery[1], as: again).status == .seeOther)
            try await again.open(SiteURL.security)
            #expect(try await again.post("/app/security/totp/disable", [("code", "000000")]).status == .forbidden)
        }
    }

    @Test func aRecruiter_mayWorkWithoutIt_orTurnItOnAndOff() async throws {
        try await withApp { app, clock in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            #expect(try await browser.get("/app/candidates").status == .ok)
            _ = try await browser.open(SiteURL.security)
            let user = try #require(try await User.query(on: app.db).filter(\.$email == "ana@example.com").first())
            let sealed = try #require(user.totpSecret)
            let secret = try #require(SecondFactor.open(sealed, with: app.config.secret))
            _ = try await browser.post(
                "/app/security/totp", [("code", TOTP.code(secret: secret, counter: TOTP.counter(at: clock.now())))])
            clock.advance(by: 30)
            _ = try await browser.open(SiteURL.security)
            let off = try await browser.post(
                "/app/security/totp/disable",
                [("code", TOTP.code(secret: secret, counter: TOTP.counter(at: clock.now())))])
            #expect(off.status == .seeOther)
            let after = try #require(try await User.query(on: app.db).filter(\.$email == "ana@example.com").first())
            #expect(after.totpEnabledAt == nil && after.totpSecret == nil)
            #expect(try await RecoveryCode.query(on: app.db).count() == 0)
        }
    }
}

import Fluent
import Foundation
import Testing
import Vapor
import VivierMail

@testable import App

/// What a public ATS receives in its free-text fields, rendered back through every page and email that shows them:
/// no live markup, no header, no script link.
@Suite("Attack strings in free text come back as text")
struct AttackStringsTests {
    static let script = "<script>alert('xss')</script>"
    static let image = "\"><img src=x onerror=alert(1)>"
    static let link = "[cliquez](javascript:alert(1))"

    /// A page or email part is safe when none of the payloads appears as markup.
    static func live(_ body: String) -> [String] {
        [script, "<img src=x onerror", "href=\"javascript:", "href='javascript:"].filter { body.contains($0) }
    }

    @Test func everyPageAndEmail_showsThePayloadsAsText() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app, title: "Dev \(Self.script)")
            _ = try await Fixtures.apply(
                Browser(app), slug: job.slug, first: "Jo\(Self.image)", last: "Doe\(Self.script)",
                coverLetter: "Lettre \(Self.link) \(Self.script)")
            let candidate = try #require(try await Candidate.query(on: app.db).first())
            let id = try candidate.requireID()
            #expect(candidate.firstName.contains("<img") && candidate.lastName.contains("<script>"), "stored as typed")
            let recruiter = Browser(app)
            try await recruiter.login("ana@example.com")
            try await recruiter.open(SiteURL.candidate(id))
            _ = try await recruiter.post(
                SiteURL.candidate(id) + "/notes", [("body", "Note \(Self.script) \(Self.link)")])
            _ = try await recruiter.post(SiteURL.candidate(id) + "/tags", [("name", "t\(Self.image)")])

            var pages: [String: String] = [:]
            for path in [
                "/app", "/app/candidates", "/app/candidates?q=doe", SiteURL.candidate(id), "/app/jobs",
                "/app/jobs/\(try job.requireID().uuidString.lowercased())/board", "/app/waiting", "/app/outbox",
                "/app/segments/new",
            ] {
                let page = try await recruiter.get(path)
                #expect(page.status == .ok, "\(path): \(page.status)")
                pages[path] = page.body
            }
            let visitor = Browser(app)
            for path in ["/careers", SiteURL.job(job.slug), SiteURL.job(job.slug) + "/apply"] {
                pages[path] = try await visitor.get(path).body
            }
            let ack = try await PortalTests.acknowledgement(app)
            let portal = Browser(app)
            _ = try await portal.get(try await PortalTests.link("/portal/t/", in: ack, app))
            pages["/portal"] = try await portal.get("/portal").body
            let reader = MailReader(Array((try await ack.body(on: app.db)).utf8))
            pages["acknowledgement (HTML)"] = reader.part("text/html")?.text ?? ""

            for (place, body) in pages {
                #expect(Self.live(body).isEmpty, "\(place) shows \(Self.live(body)) as markup")
            }
            // The payloads are there, escaped: the text is kept, not dropped.
            #expect(pages[SiteURL.candidate(id)]?.contains("&lt;script&gt;alert(") == true)
            #expect(pages["/portal"]?.contains("&lt;script&gt;") == true)
        }
    }

    @Test func lineBreaksInANameAreRefused_beforeAnyHeaderIsWritten() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let page = try await Fixtures.apply(
                Browser(app), slug: job.slug, first: "Jo\r\nBcc: victim@example.com", last: "Doe\rX-Evil: 1")
            #expect(page.status == .unprocessableEntity)
            #expect(try await Candidate.query(on: app.db).count() == 0)
            #expect(try await OutboxMessage.query(on: app.db).count() == 0)
        }
    }
}

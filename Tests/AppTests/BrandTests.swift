import Fluent
import Foundation
import Testing
import Vapor
import VivierMail

@testable import App

@Suite("The company's colour and logo on the career site, the portal and in emails")
struct BrandTests {
    /// An 8-byte PNG signature and a little more: enough for the sniffer, which is all the server reads.
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 64)

    @Test func contrast_isWCAGs() {
        // Reference values: white on black is 21:1, on #767676 about 4.54:1 (the lightest AA grey).
        #expect(abs(BrandColor.contrastWithWhite("#000000") - 21) < 0.01)
        #expect(abs(BrandColor.contrastWithWhite("#767676") - 4.54) < 0.01)
        #expect(BrandColor.parse(" #1F5F8B ") == .success("#1f5f8b"))
        #expect(BrandColor.parse("#777777") == .failure(.tooLight(BrandColor.contrastWithWhite("#777777"))))
        for bad in ["", "1f5f8b", "#1f5f8", "#1f5f8bb", "#gg0000", "red", "#1f5f8b;}body{"] {
            #expect(BrandColor.parse(bad) == .failure(.notHex), "\(bad)")
        }
    }

    @Test func colourAndLogo_reachTheCareerSite_andEmails() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "admin@example.com", role: .admin)
            let admin = Browser(app)
            try await admin.login("admin@example.com")
            try await admin.open("/app/company")
            func save(_ color: String) async throws -> Browser.Page {
                try await admin.post(
                    "/app/company",
                    [
                        ("name", "Atelier Boréal"), ("website", ""), ("country", "FR"), ("time_zone", "Europe/Paris"),
                        ("sending_opens", "9"), ("sending_closes", "18"), ("no_news_days", "7"),
                        ("silence_days", "5"), ("reminder_hours", "24"), ("brand_color", color),
                    ])
            }
            let light = try await save("#ffcc00")
            #expect(light.status == .unprocessableEntity)
            #expect(light.body.contains("trop claire") && light.body.contains("1,5:1"), "the measured contrast is said")
            #expect(try await Company.load(on: app.db).brandColor == BrandColor.default, "nothing saved")
            #expect(try await save("not a colour").body.contains("#rrvvbb"))
            #expect(try await save("#0b5d3b").status == .seeOther)

            // The career site links the colour's style sheet, whose address changes with the colour.
            let careers = try await Browser(app).get("/careers")
            #expect(careers.body.contains("/brand/theme.css?v=0b5d3b"))
            let theme = try await Browser(app).get("/brand/theme.css?v=0b5d3b")
            #expect(theme.body.contains("--brand: #0b5d3b;") && theme.headers.contentType?.subType == "css")

            // Only raster images, at most 512 KB; the refused file leaves the previous state.
            try await admin.open("/app/company")
            func upload(_ bytes: [UInt8], name: String, type: String) async throws -> Browser.Page {
                var form = Multipart()
                form.add("_csrf", admin.currentCSRF ?? "")
                form.addFile("logo", filename: name, type: type, bytes: bytes)
                return try await admin.request(.POST, "/app/company/logo", headers: form.headers, body: form.body)
            }
            let svg = try await upload(Array("<svg onload=alert(1)></svg>".utf8), name: "l.svg", type: "image/svg+xml")
            #expect(svg.status == .unprocessableEntity && svg.body.contains("PNG, JPEG ou WebP"))
            let renamed = try await upload(Fixtures.pdf, name: "logo.png", type: "image/png")
            #expect(renamed.status == .unprocessableEntity)
            let huge = try await upload(
                Self.png + Array(repeating: 0, count: 512 * 1024), name: "l.png", type: "image/png")
            #expect(huge.status == .unprocessableEntity && huge.body.contains("512 Ko"))
            #expect(try await Company.load(on: app.db).logo.isEmpty)

            #expect(try await upload(Self.png, name: "logo.png", type: "image/png").status == .seeOther)
            let company = try await Company.load(on: app.db)
            let path = try #require(Brand(company).logoPath)
            #expect(
                try await Browser(app).get("/careers").body.contains(
                    "<img class=\"logo\" src=\"\(path)\" alt=\"Atelier Boréal\">"))
            let logo = try await Browser(app).get(path)
            #expect(logo.status == .ok && logo.headers.first(name: .contentType) == "image/png")
            #expect(logo.headers.first(name: "X-Content-Type-Options") == "nosniff")
            // The address serves the logo and nothing else kept in the same store (CVs).
            let cvKey = try app.blobs.put(Fixtures.pdf)
            #expect(try await Browser(app).get(SiteURL.brandLogo(cvKey)).status == .notFound)

            // Candidate emails carry the logo and the colour.
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let ack = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "acknowledgement").first())
            let html = try #require(MailReader(Array((try await ack.body(on: app.db)).utf8)).part("text/html")?.text)
            #expect(html.contains("src=\"\(app.config.publicURL)\(path)\""))
            #expect(html.contains("border-top:4px solid #0b5d3b") && html.contains("<a style=\"color:#0b5d3b\" href="))

            // A new logo replaces the file; removing it brings the name back.
            #expect(try await upload(Self.png + [1], name: "logo2.png", type: "image/png").status == .seeOther)
            #expect(try await Browser(app).get(path).status == .notFound, "the previous logo is gone")
            try await admin.open("/app/company")
            #expect(try await admin.post("/app/company/logo/delete", []).status == .seeOther)
            #expect(try await Company.load(on: app.db).logo.isEmpty)
            #expect(!(try await Browser(app).get("/careers").body.contains("class=\"logo\"")))
        }
    }
}

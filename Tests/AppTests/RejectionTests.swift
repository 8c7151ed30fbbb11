import Fluent
import Foundation
import Testing
import Vapor
import VivierCore
import VivierMail

@testable import App

@Suite("Considerate rejections")
struct RejectionTests {
    static func setUp(_ app: Application, language: String = "fr") async throws -> (Browser, JobApplication) {
        try await Fixtures.user(app, "ana@example.com", role: .recruiter)
        let job = try await Fixtures.job(app, title: "Data Analyst")
        let visitor = Browser(app)
        if language == "en" { _ = try await visitor.get("/careers?lang=en") }
        _ = try await Fixtures.apply(visitor, slug: job.slug)
        // The acknowledgement is not what these tests look at.
        try await OutboxMessage.query(on: app.db).delete()
        let application = try #require(try await JobApplication.query(on: app.db).first())
        let browser = Browser(app)
        try await browser.login("ana@example.com")
        try await browser.open(SiteURL.candidate(application.$candidate.id))
        return (browser, application)
    }

    @Test func rejectionOnASaturday_waitsForMondayMorning() async throws {
        try await withApp { app, clock in
            clock.advance(by: 5 * 86_400)  // Saturday 26 September 2026, 16:13 in Paris
            let (browser, application) = try await Self.setUp(app)
            let path = SiteURL.application(try application.requireID()) + "/reject"
            #expect(try await browser.post(path, [("reason", "profile"), ("notify", "on")]).status == .seeOther)
            let row = try #require(
                try await OutboxMessage.query(on: app.db).filter(
                    \.$kind ~~ ["rejection_profile", "rejection_after_interview"]
                ).first())
            #expect(
                ISO8601DateFormatter().string(from: row.nextAttemptAt) == "2026-09-28T07:00:00Z", "Monday 9:00 in Paris"
            )
            let reader = MailReader(Array((try await row.body(on: app.db)).utf8))
            #expect(reader.header("Subject") == "Votre candidature chez Vivier — Data Analyst")
            #expect(reader.part("text/plain")?.text.contains("d'autres profils correspondent davantage") == true)
            #expect(try await OutboxWorker(app: app).runOnce() == 0, "not before business hours")
            clock.advance(by: 2 * 86_400)
            #expect(try await OutboxWorker(app: app).runOnce() == 1)
        }
    }

    @Test func untickedNotify_sendsNothing() async throws {
        try await withApp { app, _ in
            let (browser, application) = try await Self.setUp(app)
            #expect(
                try await browser.post(
                    SiteURL.application(try application.requireID()) + "/reject", [("reason", "profile")]
                ).status == .seeOther)
            #expect(try await OutboxMessage.query(on: app.db).count() == 0)
            #expect(try await JobApplication.find(application.id, on: app.db)?.outcome == .rejected)
        }
    }

    @Test func englishCandidate_afterInterview_getsTheMatchingWords() async throws {
        try await withApp { app, _ in
            let (browser, application) = try await Self.setUp(app, language: "en")
            _ = try await browser.post(
                SiteURL.application(try application.requireID()) + "/reject",
                [("reason", "after_interview"), ("notify", "on")])
            let row = try #require(
                try await OutboxMessage.query(on: app.db).filter(
                    \.$kind ~~ ["rejection_profile", "rejection_after_interview"]
                ).first())
            let text = MailReader(Array((try await row.body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
            #expect(text.contains("Thank you for the time and energy you gave our interviews"))
            #expect(row.nextAttemptAt == app.clock.now(), "a weekday afternoon goes at once")
        }
    }
}

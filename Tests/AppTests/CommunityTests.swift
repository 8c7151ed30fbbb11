import Fluent
import Foundation
import Testing
import Vapor
import VivierMail

@testable import App

@Suite("Talent community: double opt-in and one-click unsubscribe")
struct CommunityTests {
    @Test func signUp_confirmationEmail_singleUseLink_thenConfirmed() async throws {
        try await withApp { app, clock in
            let visitor = Browser(app)
            _ = try await visitor.open("/talent-community")
            let refused = try await visitor.post(
                "/talent-community", [("first_name", "Inès"), ("email", "ines@example.com")])
            #expect(refused.status == .unprocessableEntity && refused.body.contains("Cochez au moins un choix"))
            let joined = try await visitor.post(
                "/talent-community",
                [
                    ("first_name", "Inès"), ("email", "Ines@Example.com"), ("consent_newsletter", "on"),
                    ("consent_talent_pool", "on"),
                ])
            #expect(joined.status == .ok)

            // Given, not confirmed: nothing marketing may go yet; one plain confirmation email is queued.
            let candidate = try #require(
                try await Candidate.query(on: app.db).filter(\.$email == "ines@example.com").first())
            let id = try candidate.requireID()
            #expect(try await Newsletter.marketable(.newsletter, candidateID: id, on: app.db) == false)
            let confirmation = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "consent_confirmation").first())
            let text = MailReader(Array((try await confirmation.body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
            #expect(
                text.contains("la lettre d'information") && !text.contains("vivier de talents"),
                "only double opt-in purposes")
            let link = try await PortalTests.link("/confirm/", in: confirmation, app)

            // GET shows a button; POST confirms once; a replay is refused kindly.
            #expect(try await Browser(app).get(link).status == .ok)
            #expect(try await Newsletter.marketable(.newsletter, candidateID: id, on: app.db) == false)
            let person = Browser(app)
            _ = try await person.open(link)
            #expect(try await person.post(link, []).status == .ok)
            #expect(try await Newsletter.marketable(.newsletter, candidateID: id, on: app.db))
            #expect(try await person.post(link, []).status == .conflict)
            #expect(
                try await ConsentEvent.query(on: app.db).filter(\.$candidate.$id == id).filter(\.$action == .confirmed)
                    .count() == 1)

            // A link older than 7 days is dead.
            _ = try await Browser(app).open("/talent-community")
            try await Newsletter.requestConfirmation(
                of: [.jobAlerts], for: candidate, composer: Composer(db: app.db, app: app, now: clock.now()))
            let second = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "consent_confirmation")
                    .filter(
                        \.$dedupeKey ~~ [
                            "confirm:\(id.uuidString.lowercased()):job_alerts:\(Int(clock.now().timeIntervalSince1970 / 86_400))"
                        ]
                    ).first())
            clock.advance(by: 8 * 86_400)
            #expect(
                try await Browser(app).get(try await PortalTests.link("/confirm/", in: second, app)).status == .gone)
        }
    }

    @Test func oneClickUnsubscribe_RFC8058_stopsQueuedMarketingButNotApplications() async throws {
        try await withApp { app, clock in
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let candidate = try #require(try await Candidate.query(on: app.db).first())
            let id = try candidate.requireID()
            try await ConsentLedger.record(
                .newsletter, .confirmed, for: id, channel: .emailLink, language: .fr, on: app.db, now: clock.now())
            // A newsletter issue already queued (not transactional), and the acknowledgement (transactional).
            let issue = MailMessage(
                from: try MailAddress("news@atelier.example"), to: [try MailAddress(candidate.email)],
                subject: "Lettre",
                text: "Nos actualités",
                unsubscribe: (
                    https: Newsletter.unsubscribeURL(candidateID: id, config: app.config, now: clock.now()), mailto: nil
                ))
            try await Outbox.enqueue(
                issue, kind: "campaign", dedupeKey: "campaign:1:\(id)", transactional: false, candidateID: id,
                on: app.db, now: clock.now())
            let queued = try #require(try await OutboxMessage.query(on: app.db).filter(\.$kind == "campaign").first())
            #expect((try await queued.body(on: app.db)).contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
            let url = try #require(
                (try await queued.body(on: app.db)).firstMatch(of: /List-Unsubscribe: <([^>]+)>/).map { String($0.1) })
            let path = String(url.dropFirst(app.config.publicURL.count))

            // A GET (a link checker) changes nothing.
            #expect(try await Browser(app).get(path).status == .ok)
            #expect(try await ConsentLedger.state(of: id, on: app.db)[.newsletter] == true)

            // The mail client's POST: no cookie, no token, just the body RFC 8058 prescribes.
            let posted = try await Browser(app).request(
                .POST, path, headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "List-Unsubscribe=One-Click"))
            #expect(posted.status == .ok)
            #expect(try await ConsentLedger.state(of: id, on: app.db)[.newsletter] == false)

            // At send time: the queued issue is suppressed, the acknowledgement still leaves.
            while try await OutboxWorker(app: app).runOnce() > 0 {}
            #expect(try await OutboxMessage.find(queued.id, on: app.db)?.status == .suppressed)
            #expect(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "acknowledgement").first()?.status == .sent)

            // Tampered link: refused, nothing changes.
            #expect(
                try await Browser(app).request(
                    .POST, path + "x", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "List-Unsubscribe=One-Click")
                ).status == .badRequest)
        }
    }
}

import Fluent
import Foundation
import Testing
import Vapor
import VivierCore
import VivierMail

@testable import App

@Suite("The candidate portal and the links of candidate emails")
struct PortalTests {
    /// The path of the first link to `prefix` in a queued message's text part.
    static func link(_ prefix: String, in row: OutboxMessage, _ app: Application) async throws -> String {
        let text = MailReader(Array((try await row.body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
        let base = app.config.publicURL
        let pattern = try Regex("\(NSRegularExpression.escapedPattern(for: base + prefix))[A-Za-z0-9_.\\-]+")
        let match = try #require(text.firstMatch(of: pattern), "no \(prefix) link in: \(text)")
        return String(text[match.range].dropFirst(base.count))
    }

    static func acknowledgement(_ app: Application) async throws -> OutboxMessage {
        try #require(try await OutboxMessage.query(on: app.db).filter(\.$kind == "acknowledgement").first())
    }

    @Test func magicLink_opensThePortal_showsStatusAndPromise_thenExpires() async throws {
        try await withApp { app, clock in
            // Set up: an application and its acknowledgement.
            let job = try await Fixtures.job(app, title: "Data Analyst")
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let application = try #require(try await JobApplication.query(on: app.db).first())
            let entry = try await Self.link("/portal/t/", in: try await Self.acknowledgement(app), app)

            // Act: the candidate follows the link.
            let candidate = Browser(app)
            let opened = try await candidate.get(entry)
            #expect(opened.status == .seeOther && opened.location == "/portal")
            let portal = try await candidate.get("/portal")

            // Check: the application in plain words, the date promised, the consents.
            #expect(portal.status == .ok)
            #expect(portal.body.contains("Data Analyst") && portal.body.contains("Reçue — en attente de lecture"))
            #expect(portal.body.contains(Dates.day(try #require(application.promisedBy), .fr)))
            #expect(portal.body.contains("consent-newsletter"))
            let visits = try await Interaction.query(on: app.db).filter(\.$kind == .portalVisit).count()
            #expect(visits == 1)

            // Without the session, the portal sends to its sign-in page; after 30 days the link is dead.
            #expect(try await Browser(app).get("/portal").location == "/portal/login")
            clock.advance(by: 31 * 86_400)
            let expired = try await Browser(app).get(entry)
            #expect(expired.status == .gone && expired.body.contains("/portal/login"))
        }
    }

    @Test func newLinkByEmail_sameAnswerWhetherTheAddressIsKnownOrNot() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let visitor = Browser(app)
            _ = try await visitor.open("/portal/login")
            let known = try await visitor.post("/portal/login", [("email", "HELENE@example.com ")])
            let unknown = try await visitor.post("/portal/login", [("email", "nobody@example.com")])
            #expect(known.status == .ok && unknown.status == .ok)
            #expect(known.body.contains("un lien est en route") && unknown.body.contains("un lien est en route"))
            let links = try await OutboxMessage.query(on: app.db).filter(\.$kind == "portal_link").all()
            #expect(links.count == 1 && links[0].recipient == "helene@example.com")
        }
    }

    @Test func portalActions_consentsWithdrawExportErasure() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let application = try #require(try await JobApplication.query(on: app.db).first())
            let candidateID = application.$candidate.id
            try await Note(
                candidateID: candidateID, authorID: nil, body: "Très bon échange — marqueur-note", at: app.clock.now()
            )
            .create(on: app.db)
            let candidate = Browser(app)
            _ = try await candidate.get(try await Self.link("/portal/t/", in: try await Self.acknowledgement(app), app))
            _ = try await candidate.open("/portal")
            let before = try await ConsentEvent.query(on: app.db).count()

            // Consents: one event per change, none when nothing changed; rhythm and language saved beside them.
            _ = try await candidate.post(
                "/portal/consents", [("purposes[]", "newsletter"), ("rhythm", "monthly"), ("language", "en")])
            let saved = try await Candidate.find(candidateID, on: app.db)
            #expect(saved?.newsletterRhythm == "monthly" && saved?.language == "en")
            _ = try await candidate.post("/portal/consents", [("purposes[]", "newsletter")])
            let events = try await ConsentEvent.query(on: app.db).sort(\.$createdAt).all()
            #expect(events.count == before + 1)
            #expect(events.last?.purpose == .newsletter && events.last?.channel == .portal)
            #expect(try await ConsentLedger.state(of: candidateID, on: app.db)[.newsletter] == true)

            // Withdraw.
            let id = try application.requireID().uuidString.lowercased()
            #expect(try await candidate.post("/portal/applications/\(id)/withdraw", []).status == .seeOther)
            let withdrawn = try await JobApplication.find(application.id, on: app.db)
            #expect(withdrawn?.outcome == .withdrawn && withdrawn?.closingReason == "candidate_withdrew")

            // Someone else's application cannot be withdrawn from this session.
            let other = try await Fixtures.job(app, title: "Autre")
            _ = try await Fixtures.apply(Browser(app), slug: other.slug, email: "autre@example.com")
            let foreign = try #require(
                try await JobApplication.query(on: app.db).filter(\.$job.$id == other.id).first())
            let refused = try await candidate.post(
                "/portal/applications/\(try foreign.requireID().uuidString.lowercased())/withdraw", [])
            #expect(refused.status == .notFound)

            // Export: the session asks, the address receives a single-use link valid 24 hours, the link downloads.
            #expect(try await candidate.post("/portal/export", []).status == .seeOther)
            let mail = try #require(try await OutboxMessage.query(on: app.db).filter(\.$kind == "data_export").first())
            #expect(mail.recipient == "helene@example.com")
            let download = try await Self.link("/portal/export/", in: mail, app)
            let fromTheMailbox = Browser(app)
            let archive = try await fromTheMailbox.get(download)
            #expect(archive.status == .ok && archive.headers.contentType?.subType == "zip")
            let json = try #require(PrivacyTests.entries(of: archive.bytes)["vivier-data.json"])
            let text = String(decoding: json, as: UTF8.self)
            #expect(
                text.contains("marqueur-note") && text.contains("helene@example.com") && text.contains("consentEvents"))
            #expect(try await fromTheMailbox.get(download).status == .conflict, "the link works once")

            // Erasure: at once, the session ends, the person is gone.
            let erased = try await candidate.post("/portal/erase", [])
            #expect(erased.status == .ok && erased.body.contains("ont été effacées"))
            #expect(try await Candidate.find(candidateID, on: app.db)?.erasedAt != nil)
            #expect(try await candidate.get("/portal").status == .seeOther)

        }
    }

    @Test func rejectionOptIns_areSignedSingleUseAndWriteExactlyOneEvent() async throws {
        try await withApp { app, clock in
            let (browser, application) = try await RejectionTests.setUp(app)
            _ = try await browser.post(
                SiteURL.application(try application.requireID()) + "/reject",
                [("reason", "profile"), ("notify", "on"), ("note", "Votre portfolio nous a plu.")])
            let rejection = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "rejection_profile").first())
            let text = MailReader(Array((try await rejection.body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
            #expect(text.contains("Votre portfolio nous a plu."))
            #expect(text.components(separatedBy: "/consent/").count == 4, "three opt-in links")
            let optIn = try await Self.link("/consent/", in: rejection, app)
            let events = { try await ConsentEvent.query(on: app.db).filter(\.$channel == .emailLink).count() }

            // A GET (what a mail scanner does) shows a page and records nothing.
            let candidate = Browser(app)
            let page = try await candidate.open(optIn)
            #expect(page.status == .ok && page.body.contains("<form method=\"post\""))
            #expect(try await events() == 0)

            // The button records exactly one event; the same link again is refused kindly.
            #expect(try await candidate.post(optIn, []).status == .ok)
            #expect(try await events() == 1)
            let replay = try await candidate.post(optIn, [])
            #expect(replay.status == .conflict && replay.body.contains("déjà été utilisé"))
            #expect(try await events() == 1)
            let state = try await ConsentLedger.state(of: application.$candidate.id, on: app.db)
            #expect(state[.talentPool] == true || state[.newsletter] == true || state[.partnerSharing] == true)

            // Tampered and expired links.
            var tampered = optIn
            tampered.removeLast()
            tampered.append(optIn.last == "A" ? "B" : "A")
            #expect(try await Browser(app).get(tampered).status == .badRequest)
            let second = text.components(separatedBy: app.config.publicURL).dropFirst().compactMap { part in
                part.hasPrefix("/consent/") && !optIn.hasSuffix(String(part.prefix { !$0.isWhitespace && $0 != ")" }))
                    ? String(part.prefix { !$0.isWhitespace && $0 != ")" }) : nil
            }.first
            clock.advance(by: 61 * 86_400)
            #expect(try await Browser(app).get(try #require(second)).status == .gone)
        }
    }

    @Test func prepPack_isInTheInvitation_andOpeningItIsOnTheTimeline() async throws {
        try await withApp { app, _ in
            let (browser, application) = try await RejectionTests.setUp(app)
            try await PrepResource(
                title: "Comment se passe l'entretien", summary: "45 minutes, sans piège", body: "",
                url: "https://atelier.example/guide", stageKind: .interview, jobID: nil, language: "fr",
                at: app.clock.now()
            ).create(on: app.db)
            _ = try await browser.post(
                SiteURL.application(try application.requireID()) + "/interviews",
                [
                    ("date", "2026-10-01"), ("time", "14:30"), ("time_zone", "Europe/Paris"), ("duration", "45"),
                    ("location", "12 rue de la Paix, Paris"),
                ])
            let invitation = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "interview_invitation").first())
            #expect(invitation.template == "interview_invitation/fr/default")
            let text = MailReader(Array((try await invitation.body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
            #expect(text.contains("Comment se passe l'entretien"))
            let resource = try await Self.link("/prep/", in: invitation, app)
            let opened = try await Browser(app).get(resource)
            #expect(opened.status == .seeOther && opened.location == "https://atelier.example/guide")
            let timeline = try await Interaction.query(on: app.db).filter(\.$kind == .resourceOpened).all()
            #expect(timeline.count == 1 && timeline[0].$candidate.id == application.$candidate.id)
        }
    }
}

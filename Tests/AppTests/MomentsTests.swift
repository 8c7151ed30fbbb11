import Fluent
import Foundation
import Testing
import Vapor
import VivierCore
import VivierMail

@testable import App

@Suite("Templates, timers and bulk decisions")
struct MomentsTests {
    static func text(_ row: OutboxMessage, _ app: Application) async throws -> String {
        MailReader(Array(try await row.body(on: app.db).utf8)).part("text/plain")?.text ?? ""
    }

    @Test func editedTemplate_isCheckedVersionedAndRecordedOnTheMessage() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app, title: "Data Analyst")
            let other = try await Fixtures.job(app, title: "Comptable")
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            _ = try await browser.open(SiteURL.template("acknowledgement", "fr"))

            // A tag the message does not offer: refused, nothing saved.
            let refused = try await browser.post(
                SiteURL.template("acknowledgement", "fr"),
                [
                    ("subject", "Merci {{candidate.first_name}}"), ("body", "Né le {{candidate.birth_date}}"),
                    ("intent", "save"),
                ])
            #expect(refused.status == .unprocessableEntity && refused.body.contains("candidate.birth_date"))
            #expect(try await TemplateVersion.query(on: app.db).count() == 0)

            // The live preview renders against a real candidate, as a fragment.
            _ = try await Fixtures.apply(Browser(app), slug: other.slug, first: "Yasmine", email: "yasmine@example.com")
            let preview = try await browser.post(
                SiteURL.template("acknowledgement", "fr"),
                [
                    ("subject", "Merci {{candidate.first_name}}"), ("body", "Réponse {{delay.phrase}}."),
                    ("intent", "preview"),
                ],
                headers: ["X-Preview": "1"])
            #expect(preview.status == .ok && preview.body.contains("Merci Yasmine"))
            #expect(preview.body.contains("Réponse sous 8 jours ouvrés.") && !preview.body.contains("<html"))

            // Company version, then a job override.
            #expect(
                try await browser.post(
                    SiteURL.template("acknowledgement", "fr"),
                    [
                        ("subject", "Merci {{candidate.first_name}} !"), ("body", "Réponse {{delay.phrase}}.\n"),
                        ("intent", "save"),
                    ]
                ).status == .seeOther)
            let jobID = try job.requireID().uuidString.lowercased()
            #expect(
                try await browser.post(
                    SiteURL.template("acknowledgement", "fr") + "?job=\(jobID)",
                    [
                        ("subject", "{{job.title}} : bien reçu"), ("body", "Bonjour {{candidate.first_name}}.\n"),
                        ("intent", "save"),
                    ]
                ).status == .seeOther)
            #expect(try await TemplateVersion.query(on: app.db).count() == 2)

            _ = try await Fixtures.apply(Browser(app), slug: job.slug, first: "Hugo", email: "hugo@example.com")
            _ = try await Fixtures.apply(Browser(app), slug: other.slug, first: "Inès", email: "ines@example.com")
            let hugo = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$recipient == "hugo@example.com").first())
            let ines = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$recipient == "ines@example.com").first())
            #expect(hugo.subject == "Data Analyst : bien reçu" && hugo.template == "acknowledgement/fr/job/v1")
            #expect(ines.subject == "Merci Inès !" && ines.template == "acknowledgement/fr/company/v1")
            let yasmine = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$recipient == "yasmine@example.com").first())
            #expect(yasmine.template == "acknowledgement/fr/default")
        }
    }

    @Test func rejectionSaturdayNight_leavesMondayAtOpening_andBulk500QueuesExactly500() async throws {
        try await withApp { app, clock in
            // Saturday 26 September 2026, 23:00 in Paris.
            clock.advance(by: 5 * 86_400 + (23 * 60 - (16 * 60 + 13)) * 60)
            let recruiter = try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app, title: "Vendeur·se", members: [recruiter])
            let jobID = try job.requireID()
            let stage = try #require(try await Stage.query(on: app.db).filter(\.$job.$id == jobID).first())
            var ids: [String] = []
            for index in 0..<500 {
                let candidate = Candidate(
                    email: "c\(index)@example.com", firstName: "Camille\(index)", lastName: "Martin", phone: "",
                    language: index % 2 == 0 ? .fr : .en)
                try await candidate.create(on: app.db)
                let application = JobApplication(
                    candidateID: try candidate.requireID(), jobID: jobID, stageID: stage.id, source: .careerSite,
                    sourceDetail: "", coverLetter: "", submissionToken: nil, now: clock.now())
                try await application.create(on: app.db)
                ids.append(try application.requireID().uuidString.lowercased())
            }
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            _ = try await browser.open(SiteURL.board(jobID))
            let fields = [("reason", "position_filled"), ("notify", "on"), ("delay", "0")] + ids.map { ("ids[]", $0) }
            let done = try await browser.post("/app/jobs/\(jobID.uuidString.lowercased())/reject", fields)
            #expect(done.status == .seeOther)
            let queued = try await OutboxMessage.query(on: app.db).filter(\.$kind == "rejection_position_filled").all()
            #expect(queued.count == 500)
            #expect(Set(queued.map(\.recipient)).count == 500)
            #expect(
                queued.allSatisfy { ISO8601DateFormatter().string(from: $0.nextAttemptAt) == "2026-09-28T07:00:00Z" })
            #expect(
                try await JobApplication.query(on: app.db).filter(\.$outcome == .rejected).count() == 500)
            // The same selection again: already closed, nothing more.
            _ = try await browser.post("/app/jobs/\(jobID.uuidString.lowercased())/reject", fields)
            #expect(try await OutboxMessage.query(on: app.db).count() == 500)
            let board = try await browser.get(SiteURL.board(jobID))
            #expect(board.status == .ok)
        }
    }

    @Test func noNews_getsOneUpdate_silenceGetsAFollowUp_endGetsOneSurvey() async throws {
        try await withApp { app, clock in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app, title: "Data Analyst")
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let application = try #require(try await JobApplication.query(on: app.db).first())
            // Another application without a promised date (made before promises existed).
            _ = try await Fixtures.apply(Browser(app), slug: job.slug, first: "Marc", email: "marc@example.com")
            let unpromised = try #require(
                try await JobApplication.query(on: app.db).filter(\.$id != application.requireID()).first())
            unpromised.promisedBy = nil
            try await unpromised.save(on: app.db)
            let scheduler = Scheduler(app: app)
            #expect(try await scheduler.runOnce().updates == 0, "the acknowledgement is no news; 0 days")

            // Seven days later (Monday afternoon): one "still in progress" each, once.
            clock.advance(by: 7 * 86_400)
            #expect(try await scheduler.runOnce().updates == 2)
            #expect(try await scheduler.runOnce().updates == 0)
            let update = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "still_in_progress")
                    .filter(\.$applicationID == application.requireID()).first())
            let updateText = try await Self.text(update, app)
            #expect(updateText.contains("toujours à l'étude"))
            #expect(
                updateText.contains(Dates.day(try #require(application.promisedBy), .fr))
                    == (application.promisedBy! > clock.now()))
            let withoutDate = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "still_in_progress")
                    .filter(\.$applicationID == unpromised.requireID()).first())
            let withoutDateText = try await Self.text(withoutDate, app)
            #expect(!withoutDateText.contains("au plus tard") && !withoutDateText.contains("nil"))

            // An invitation left unanswered for the silence delay: a follow-up and the unresponsive mark, once.
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            _ = try await browser.open(SiteURL.candidate(application.$candidate.id))
            _ = try await browser.post(
                SiteURL.application(try application.requireID()) + "/interviews",
                [
                    ("date", "2026-10-20"), ("time", "10:00"), ("time_zone", "Europe/Paris"), ("duration", "60"),
                    ("location", "Lyon"),
                ])
            while try await OutboxWorker(app: app).runOnce() > 0 {}
            clock.advance(by: 4 * 86_400)
            #expect(try await scheduler.runOnce().followUps == 0, "not yet")
            clock.advance(by: 2 * 86_400)
            #expect(try await scheduler.runOnce().followUps == 1)
            #expect(try await scheduler.runOnce().followUps == 0)
            #expect(try await Interaction.query(on: app.db).filter(\.$kind == .markedUnresponsive).count() == 1)
            let followUp = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "follow_up").first())
            #expect(try await Self.text(followUp, app).contains("notre invitation à un entretien"))

            // Hired: the survey a day later, once, and not again within six months for another ending.
            application.outcome = .hired
            application.decidedAt = clock.now()
            try await application.save(on: app.db)
            #expect(try await scheduler.runOnce().surveys == 0)
            clock.advance(by: 86_400 + 60)
            #expect(try await scheduler.runOnce().surveys == 1)
            #expect(try await scheduler.runOnce().surveys == 0)
            let survey = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "satisfaction_survey").first())
            let link = try await PortalTests.link("/survey/", in: survey, app)
            let candidate = Browser(app)
            #expect(try await candidate.open(link).status == .ok)
            #expect(try await candidate.post(link, [("score", "11")]).status == .unprocessableEntity)
            #expect(try await candidate.post(link, [("score", "9"), ("comment", "Rapide et humain")]).status == .ok)
            #expect(try await candidate.post(link, [("score", "3")]).status == .conflict)
            let answers = try await SurveyAnswer.query(on: app.db).all()
            #expect(answers.count == 1 && answers[0].score == 9 && answers[0].outcome == "hired")

            let second = try await Fixtures.job(app, title: "Autre poste")
            _ = try await Fixtures.apply(Browser(app), slug: second.slug)
            let again = try #require(
                try await JobApplication.query(on: app.db).filter(\.$job.$id == second.id).first())
            again.outcome = .withdrawn
            again.decidedAt = clock.now()
            try await again.save(on: app.db)
            clock.advance(by: 2 * 86_400)
            #expect(try await scheduler.runOnce().surveys == 0, "one survey per person per six months")
        }
    }

    @Test func decisionDeadline_flagsTheBoardAndSendsOneDigestADay() async throws {
        try await withApp { app, clock in
            let recruiter = try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app, title: "Data Analyst", members: [recruiter])
            job.autoUpdates = false
            try await job.save(on: app.db)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let scheduler = Scheduler(app: app)
            #expect(try await scheduler.runOnce().digests == 0, "nothing at risk on day 0")

            // Day 11 of 14 (Friday afternoon): near the deadline.
            clock.advance(by: 11 * 86_400)
            #expect(try await scheduler.runOnce().digests == 1)
            #expect(try await scheduler.runOnce().digests == 0, "one a day")
            let digest = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "decision_digest").first())
            let digestText = try await Self.text(digest, app)
            #expect(digest.recipient == "ana@example.com" && digestText.contains("Hélène Lefèvre"))
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            #expect(try await browser.get(SiteURL.board(try job.requireID())).body.contains("urgency-near"))
            #expect(try await browser.get(SiteURL.waiting).body.contains("Hélène Lefèvre"))

            // Past the deadline; Saturday sends nothing, Monday morning does.
            clock.advance(by: 86_400)
            #expect(try await scheduler.runOnce().digests == 0, "Saturday")
            clock.advance(by: 2 * 86_400)
            #expect(try await scheduler.runOnce().digests == 1)
            try await browser.login("ana@example.com")  // the session of Friday has timed out
            #expect(try await browser.get(SiteURL.board(try job.requireID())).body.contains("urgency-past"))
        }
    }
}

@Suite("CV forwarding to partners")
struct ForwardingTests {
    @Test func forwarding_needsTheConsentAtTheMomentOfSending_andTellsTheCandidate() async throws {
        try await withApp { app, _ in
            let (browser, application) = try await RejectionTests.setUp(app)
            let candidateID = application.$candidate.id
            _ = try await browser.open(SiteURL.partners)
            let invalid = try await browser.post(
                SiteURL.partners,
                [("company", "Nordique"), ("name", "Léa"), ("email", "pas-une-adresse"), ("language", "fr")])
            #expect(invalid.status == .unprocessableEntity)
            _ = try await browser.post(
                SiteURL.partners,
                [
                    ("company", "Nordique SA"), ("name", "Léa Martin"), ("email", "lea@nordique.example"),
                    ("language", "en"),
                ])
            let partner = try #require(try await Partner.query(on: app.db).first())
            let forward = SiteURL.candidate(candidateID) + "/forward"
            let fields = [
                ("partner", try partner.requireID().uuidString.lowercased()), ("note", "Très bon profil data."),
            ]

            // No consent: refused, nothing queued.
            _ = try await browser.open(SiteURL.candidate(candidateID))
            #expect(try await browser.post(forward, fields).status == .seeOther)
            #expect(try await OutboxMessage.query(on: app.db).count() == 0)

            // With the consent: the partner gets the CV, the candidate is told, the timeline says so.
            try await ConsentLedger.record(
                .partnerSharing, .granted, for: candidateID, channel: .emailLink, language: .fr, on: app.db,
                now: app.clock.now())
            _ = try await browser.post(forward, fields)
            let sent = try #require(try await OutboxMessage.query(on: app.db).filter(\.$kind == "cv_forward").first())
            let reader = MailReader(Array((try await sent.body(on: app.db)).utf8))
            #expect(sent.recipient == "lea@nordique.example")
            #expect(reader.header("Subject") == "Profile recommended by Vivier: Hélène Lefèvre")
            #expect(reader.part("text/plain")?.text.contains("Très bon profil data.") == true)
            #expect(reader.parts.contains { $0.contentType.hasPrefix("application/pdf") })
            let told = try #require(try await OutboxMessage.query(on: app.db).filter(\.$kind == "cv_forwarded").first())
            #expect(
                told.subject.contains("Nordique SA") || MailReader.decodeWords(told.subject).contains("Nordique SA"))
            #expect(try await Interaction.query(on: app.db).filter(\.$kind == .cvForwarded).count() == 1)

            // Consent withdrawn: the next forward is refused.
            try await ConsentLedger.record(
                .partnerSharing, .withdrawn, for: candidateID, channel: .portal, language: .fr, on: app.db,
                now: app.clock.now() + 1)
            let other = Partner(
                company: "Sud", name: "Paul", email: "paul@sud.example", language: .fr, at: app.clock.now())
            try await other.create(on: app.db)
            _ = try await browser.post(forward, [("partner", try other.requireID().uuidString.lowercased())])
            #expect(try await OutboxMessage.query(on: app.db).filter(\.$kind == "cv_forward").count() == 1)
        }
    }
}

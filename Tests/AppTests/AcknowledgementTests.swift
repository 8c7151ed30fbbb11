import Fluent
import Foundation
import Testing
import Vapor
import VivierCore
import VivierMail

@testable import App

@Suite("The acknowledgement states the delay actually practised")
struct AcknowledgementTests {
    @Test func apply_queuesOneAcknowledgementWithTheDelayDateAndNextSteps() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app, title: "Data Analyst")
            let browser = Browser(app)
            _ = try await Fixtures.apply(browser, slug: job.slug)
            let application = try #require(try await JobApplication.query(on: app.db).first())
            let row = try #require(try await OutboxMessage.query(on: app.db).first())
            let key = "ack:\(try application.requireID().uuidString.lowercased())"
            #expect(row.kind == "acknowledgement" && row.dedupeKey == key)
            #expect(row.recipient == "helene@example.com" && row.transactional)
            // No history yet: the job's 14-day target, said in working days.
            #expect(application.promisedWorkingDays == 10 && application.promiseBasis == "target")
            let promised = try #require(application.promisedBy)
            let reader = MailReader(Array((try await row.body(on: app.db)).utf8))
            #expect(reader.header("Subject") == "Nous avons bien reçu votre candidature — Data Analyst")
            let text = try #require(reader.part("text/plain")?.text)
            #expect(text.contains("Bonjour Hélène"))
            #expect(text.contains("sous 10 jours ouvrés, au plus tard le \(Dates.day(promised, .fr))"))
            #expect(
                text.contains("1. Présélection") && text.contains("2. Entretien") && text.contains("4. Offre")
                    && !text.contains("Embauché"))
            #expect(reader.part("text/html") != nil)
            #expect(reader.header("Auto-Submitted") == "auto-generated")
            // Applying again to the same job does not send a second acknowledgement.
            _ = try await Fixtures.apply(browser, slug: job.slug)
            #expect(try await OutboxMessage.query(on: app.db).count() == 1)
            // The recruiter sees the promise and the message on the candidate's page.
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let recruiter = Browser(app)
            try await recruiter.login("ana@example.com")
            let page = try await recruiter.get(SiteURL.candidate(application.$candidate.id))
            #expect(page.body.contains("Réponse promise avant le \(Dates.day(promised, .fr)) (10 jours ouvrés)"))
            #expect(
                page.body.contains("Accusé de réception")
                    && page.body.contains("Nous avons bien reçu votre candidature"))
        }
    }

    @Test func delay_comesFromTheJobsRecentDecisions() async throws {
        try await withApp { app, clock in
            let job = try await Fixtures.job(app)
            let stages = try await Stage.query(on: app.db).filter(\.$job.$id == job.requireID()).sort(\.$position).all()
            // Twelve past applications, each moved out of "new" after 1..12 working days (Mondays, so no weekend in between
            // for small values; the calendar does the counting either way).
            for index in 1...12 {
                let candidate = Candidate(
                    email: "past\(index)@example.com", firstName: "P", lastName: "\(index)", phone: "", language: .fr)
                try await candidate.create(on: app.db)
                let applied = clock.now() - 40 * 86_400
                let application = JobApplication(
                    candidateID: try candidate.requireID(), jobID: job.id, stageID: stages[0].id, source: .careerSite,
                    sourceDetail: "",
                    coverLetter: "", submissionToken: nil, now: applied)
                try await application.create(on: app.db)
                application.createdAt = applied
                try await application.save(on: app.db)
                let calendar = WorkingCalendar()
                let decided = calendar.adding(workingDays: index, to: applied) - 12 * 3600
                try await Interaction(
                    candidateID: try candidate.requireID(), applicationID: application.id, actorID: nil,
                    kind: .stageChanged, detail: "", at: decided
                ).create(on: app.db)
            }
            let delay = try await Acknowledgement(composer: Composer(db: app.db, app: app, now: clock.now()))
                .practisedDelay(job: job)
            #expect(delay.basis == .job && delay.sampleSize == 12)
            #expect((9...11).contains(delay.workingDays), "p80 of about 1…12 working days: \(delay.workingDays)")
        }
    }

    @Test func englishCandidate_getsEnglish_andTheMailboxShowsIt() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app, title: "Product Designer")
            let browser = Browser(app)
            _ = try await browser.get("/careers?lang=en")
            _ = try await Fixtures.apply(
                browser, slug: job.slug, first: "Olivia", last: "Smith", email: "olivia@example.com")
            #expect(try await OutboxWorker(app: app).runOnce() == 1)
            let files = try FileManager.default.contentsOfDirectory(
                atPath: app.config.mail.maildir.appendingPathComponent("new").path)
            let data = try Data(
                contentsOf: app.config.mail.maildir.appendingPathComponent("new").appendingPathComponent(files[0]))
            let reader = MailReader(Array(data))
            #expect(reader.header("Subject") == "We have received your application — Product Designer")
            #expect(reader.part("text/plain")?.text.contains("within 10 working days") == true)
            #expect(reader.header("Reply-To")?.contains("reply+") == true)
        }
    }
}

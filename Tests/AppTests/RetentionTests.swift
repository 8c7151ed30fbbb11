import Fluent
import Foundation
import Testing
import Vapor
import VivierCore
import VivierMail

@testable import App

@Suite("Retention: renewal notice once, then anonymisation after the grace, nothing twice")
struct RetentionTests {
    /// A person who applied to `job` `daysAgo` days ago; `ended` days ago their application ended (nil: still active).
    static func person(
        _ app: Application, _ name: String, job: Job, appliedDaysAgo: Double, endedDaysAgo: Double?,
        outcome: ApplicationOutcome = .rejected, consent: Bool = false, lastContactDaysAgo: Double? = nil
    ) async throws -> UUID {
        let now = app.clock.now()
        let candidate = Candidate(
            id: UUID(), email: "\(name)@example.com", firstName: name.capitalized, lastName: "Test", phone: "",
            language: .fr)
        candidate.lastActiveContactAt = now - (lastContactDaysAgo ?? appliedDaysAgo) * 86_400
        try await candidate.create(on: app.db)
        let stage = try #require(try await Stage.query(on: app.db).filter(\.$job.$id == job.requireID()).first())
        let application = JobApplication(
            candidateID: try candidate.requireID(), jobID: try job.requireID(), stageID: try stage.requireID(),
            source: .careerSite, sourceDetail: "", coverLetter: "", submissionToken: nil,
            now: now - appliedDaysAgo * 86_400)
        if let endedDaysAgo {
            application.outcome = outcome
            application.decidedAt = now - endedDaysAgo * 86_400
        }
        try await application.create(on: app.db)
        if consent {
            try await ConsentLedger.record(
                .talentPool, .granted, for: try candidate.requireID(), channel: .careerForm, language: .fr,
                on: app.db, now: now - appliedDaysAgo * 86_400)
        }
        return try candidate.requireID()
    }

    @Test func theCNILDefaults_noticeOnce_graceThenAnonymise_keepRenews() async throws {
        try await withApp { app, clock in
            let job = try await Fixtures.job(app)
            let active = try await Self.person(app, "active", job: job, appliedDaysAgo: 400, endedDaysAgo: nil)
            // Rejected 100 days ago without consent: expired 10 days ago (3 months), notice due now.
            let rejected = try await Self.person(app, "rejected", job: job, appliedDaysAgo: 120, endedDaysAgo: 100)
            // Pool consent, last active contact 23 months and a half ago: expires in about 2 weeks.
            let pool = try await Self.person(
                app, "pool", job: job, appliedDaysAgo: 715, endedDaysAgo: 714, consent: true, lastContactDaysAgo: 715)
            // Pool consent, recent contact: years to go.
            let recent = try await Self.person(
                app, "recent", job: job, appliedDaysAgo: 400, endedDaysAgo: 390, consent: true, lastContactDaysAgo: 20)
            let hired = try await Self.person(
                app, "hired", job: job, appliedDaysAgo: 900, endedDaysAgo: 880, outcome: .hired)
            // Same as `pool`, but answers the notice.
            let keeper = try await Self.person(
                app, "keeper", job: job, appliedDaysAgo: 715, endedDaysAgo: 714, consent: true, lastContactDaysAgo: 715)

            let dry = try await Retention(app: app, now: clock.now()).run(dryRun: true)
            #expect(dry == .init(notices: 3, anonymised: 0, expiringIn30Days: 2))
            #expect(try await OutboxMessage.query(on: app.db).count() == 0, "a dry run sends nothing")

            let first = try await Retention(app: app, now: clock.now()).run()
            #expect(first.notices == 3 && first.anonymised == 0)
            let notices = try await OutboxMessage.query(on: app.db).filter(\.$kind == "retention_notice").all()
            #expect(Set(notices.compactMap { $0.$candidate.id }) == [rejected, pool, keeper])
            #expect(try await Retention(app: app, now: clock.now()).run().notices == 0, "a notice goes once")
            let text = MailReader(Array((try await notices[0].body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
            #expect(text.contains("effacé définitivement après le") && text.contains("/keep/"))

            // The keeper clicks: a GET shows a button, the POST renews the consent and the contact.
            let keeperNotice = try #require(notices.first { $0.$candidate.id == keeper })
            let link = try await PortalTests.link("/keep/", in: keeperNotice, app)
            let visitor = Browser(app)
            #expect(try await visitor.get(link).status == .ok)
            #expect(try await ConsentEvent.query(on: app.db).filter(\.$candidate.$id == keeper).count() == 1)
            _ = try await visitor.open(link)
            #expect(try await visitor.post(link, []).status == .ok)
            #expect(try await ConsentEvent.query(on: app.db).filter(\.$candidate.$id == keeper).count() == 2)
            #expect(try await visitor.post(link, []).status == .conflict, "the link works once")

            // Seven days later: the rejected person is anonymised; the pool member still has a week.
            clock.advance(by: 7 * 86_400 + 60)
            let second = try await Retention(app: app, now: clock.now()).run()
            #expect(second == .init(notices: 0, anonymised: 1, expiringIn30Days: 1))
            #expect(try await Candidate.find(rejected, on: app.db)?.erasedAt != nil)
            #expect(try await Candidate.find(rejected, on: app.db)?.email == Candidate.erasedAddress(rejected))
            #expect(
                try await Suppression.query(on: app.db).filter(
                    \.$addressHash == Suppression.hash("rejected@example.com")
                )
                .count() == 0, "anonymised by the clock, not an objection: no suppression")
            #expect(try await Retention(app: app, now: clock.now()).run().anonymised == 0, "nothing twice")

            // Past the pool member's expiry and grace.
            clock.advance(by: 20 * 86_400)
            let third = try await Retention(app: app, now: clock.now()).run()
            #expect(third.anonymised == 1)
            #expect(try await Candidate.find(pool, on: app.db)?.erasedAt != nil)
            for kept in [active, recent, hired, keeper] {
                #expect(try await Candidate.find(kept, on: app.db)?.erasedAt == nil)
            }
            // The anonymised keep their statistics: applications and their outcomes stay.
            #expect(try await JobApplication.query(on: app.db).count() == 6)
            #expect(
                try await Interaction.query(on: app.db).filter(\.$kind == .erased).filter(\.$detail == "retention")
                    .count() == 2)
        }
    }

    @Test func theScheduler_runsThePass_oncePerDay_inTheSendingWindow() async throws {
        try await withApp { app, clock in
            let job = try await Fixtures.job(app)
            _ = try await Self.person(app, "rejected", job: job, appliedDaysAgo: 120, endedDaysAgo: 100)
            let window = SendingWindow(try await Company.load(on: app.db))
            // The test clock starts on a weekday afternoon in Paris, inside the window.
            #expect(window.nextMoment(from: clock.now()) == clock.now())
            #expect(try await Retention.runDaily(app: app, now: clock.now(), window: window)?.notices == 1)
            #expect(try await Retention.runDaily(app: app, now: clock.now() + 3600, window: window) == nil)
            let nextDay = window.nextMoment(from: clock.now() + 86_400)
            #expect(try await Retention.runDaily(app: app, now: nextDay, window: window) == .init())
        }
    }

    @Test func thePolicy_isTheAdminsToChange_withClearErrors() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "admin@example.com", role: .admin)
            let browser = Browser(app)
            try await browser.login("admin@example.com")
            let page = try await browser.open("/app/retention")
            #expect(page.status == .ok && page.body.contains("value=\"3\"") && page.body.contains("value=\"24\""))
            let refused = try await browser.post(
                "/app/retention",
                [
                    ("unsuccessful_months", "0"), ("consented_months", "24"), ("notice_days", "30"),
                    ("grace_days", "7"), ("hired_months", "0"),
                ])
            #expect(refused.status == .unprocessableEntity && refused.body.contains("entre 1 et 24"))
            #expect(try await RetentionPolicy.load(on: app.db) == RetentionPolicy())
            let saved = try await browser.post(
                "/app/retention",
                [
                    ("unsuccessful_months", "6"), ("consented_months", "24"), ("notice_days", "30"),
                    ("grace_days", "7"), ("hired_months", "60"),
                ])
            #expect(saved.status == .seeOther)
            let policy = try await RetentionPolicy.load(on: app.db)
            #expect(policy.unsuccessfulMonths == 6 && policy.hiredMonths == 60)
        }
    }
}

import Fluent
import Foundation
import Testing
import Vapor
import VivierCore

@testable import App

/// Each indicator on a small history whose numbers were worked out by hand (in the comments), on both engines.
@Suite("Indicators on a hand-checked history")
struct IndicatorsTests {
    static let day: TimeInterval = 86_400

    struct History {
        var jobA: UUID
        var jobB: UUID
    }

    /// Six applications (days are counted back from now):
    /// - A1 (job A, career site, 20 days ago): acknowledged after 60 s, moved to screening on day 2 with an
    ///   interview invitation the same day, promised for day 10 → kept.
    /// - A2 (job A, career site, 18 days ago): acknowledged after 120 s, rejected on day 5, promised day 10 → kept.
    /// - A3 (job A, referral, 16 days ago): acknowledged after 30 s, nothing since, promised day 8 → due, not kept;
    ///   marked unresponsive; past its deadline.
    /// - B1 (job B, career site, 10 days ago): no acknowledgement, rejected on day 9, promised day 7 → not kept.
    /// - B2 (job B, job board, 40 days ago: outside the period), still new → past its deadline.
    /// - B3 (job B, career site, 5 days ago): acknowledged after 300 s, screening on day 1, hired on day 4.
    static func history(_ app: Application) async throws -> History {
        let now = app.clock.now()
        let jobA = try await Fixtures.job(app, title: "Job A")
        let jobB = try await Fixtures.job(app, title: "Job B")
        jobB.department = "Sales"
        try await jobB.save(on: app.db)
        func stage(_ job: Job, _ kind: StageKind) async throws -> UUID {
            try #require(
                try await Stage.query(on: app.db).filter(\.$job.$id == job.requireID()).filter(\.$kind == kind)
                    .first()?.id)
        }
        var index = 0
        func application(
            _ job: Job, _ source: JobApplication.Source, daysAgo: Double, stage kind: StageKind = .new,
            outcome: ApplicationOutcome = .active
        ) async throws -> JobApplication {
            index += 1
            let candidate = Candidate(
                email: "c\(index)@example.com", firstName: "C\(index)", lastName: "X", phone: "", language: .fr)
            try await candidate.create(on: app.db)
            let created = now - daysAgo * day
            let application = JobApplication(
                candidateID: try candidate.requireID(), jobID: job.id, stageID: try await stage(job, kind),
                source: source, sourceDetail: "", coverLetter: "", submissionToken: nil, now: created)
            application.outcome = outcome
            try await application.create(on: app.db)
            return application
        }
        func message(_ application: JobApplication, _ kind: String, at date: Date, sent: Bool = true) async throws {
            let row = OutboxMessage(
                kind: kind, dedupeKey: "\(kind):\(UUID())", transactional: true, candidateID: application.$candidate.id,
                sender: "s@x", recipient: "r@x", subject: "", needsSMTPUTF8: false, now: date)
            row.applicationID = application.id
            if sent {
                row.status = .sent
                row.sentAt = date
            }
            try await row.create(on: app.db)
        }
        func event(_ application: JobApplication, _ kind: Interaction.Kind, at date: Date) async throws {
            try await Interaction(
                candidateID: application.$candidate.id, applicationID: application.id, actorID: nil, kind: kind,
                detail: "", at: date
            ).create(on: app.db)
        }

        let a1 = try await application(jobA, .careerSite, daysAgo: 20, stage: .screening)
        let a1c = a1.createdAt!
        a1.promisedBy = a1c + 10 * day
        a1.stageEnteredAt = a1c + 2 * day
        try await a1.save(on: app.db)
        try await message(a1, "acknowledgement", at: a1c + 60)
        try await event(a1, .stageChanged, at: a1c + 2 * day)
        try await message(a1, "interview_invitation", at: a1c + 2 * day)

        let a2 = try await application(jobA, .careerSite, daysAgo: 18, outcome: .rejected)
        let a2c = a2.createdAt!
        a2.promisedBy = a2c + 10 * day
        a2.decidedAt = a2c + 5 * day
        try await a2.save(on: app.db)
        try await message(a2, "acknowledgement", at: a2c + 120)
        try await event(a2, .rejected, at: a2c + 5 * day)
        try await message(a2, "rejection_profile", at: a2c + 5 * day)

        let a3 = try await application(jobA, .referral, daysAgo: 16)
        a3.promisedBy = a3.createdAt! + 8 * day
        try await a3.save(on: app.db)
        try await message(a3, "acknowledgement", at: a3.createdAt! + 30)
        try await event(a3, .markedUnresponsive, at: a3.createdAt! + 12 * day)

        let b1 = try await application(jobB, .careerSite, daysAgo: 10, outcome: .rejected)
        let b1c = b1.createdAt!
        b1.promisedBy = b1c + 7 * day
        b1.decidedAt = b1c + 9 * day
        try await b1.save(on: app.db)
        try await event(b1, .rejected, at: b1c + 9 * day)
        try await message(b1, "rejection_profile", at: b1c + 9 * day)

        _ = try await application(jobB, .jobBoard, daysAgo: 40)

        let b3 = try await application(jobB, .careerSite, daysAgo: 5, stage: .hired, outcome: .hired)
        let b3c = b3.createdAt!
        b3.decidedAt = b3c + 4 * day
        try await b3.save(on: app.db)
        try await message(b3, "acknowledgement", at: b3c + 300)
        try await event(b3, .stageChanged, at: b3c + 1 * day)

        // Interviews: A1's held (day 3), A2's missed (day 4), A3's cancelled.
        for (application, offset, status) in [
            (a1, 3.0, Interview.Status.scheduled), (a2, 4.0, .noShow), (a3, 5.0, .cancelled),
        ] {
            let interview = Interview(applicationID: try application.requireID(), uid: "i-\(UUID())")
            interview.startsAt = application.createdAt! + offset * day
            interview.status = status
            try await interview.create(on: app.db)
        }
        // Consents: A1 joined the pool 710 days ago (its two years end within 30 days), A3 100 days before
        // applying, B3 the day before; B1 took the newsletter and left it.
        for (application, purpose, action, date) in [
            (a1, ConsentPurpose.talentPool, ConsentAction.granted, now - 710 * day),
            (a3, .talentPool, .granted, a3.createdAt! - 100 * day), (b3, .talentPool, .granted, b3c - day),
            (b1, .newsletter, .granted, b1c), (b1, .newsletter, .withdrawn, b1c + day),
        ] {
            try await ConsentLedger.record(
                purpose, action, for: application.$candidate.id, channel: .careerForm, language: .fr, on: app.db,
                now: date)
        }

        // Satisfaction: six answers in the period (10, 9, 8, 6, 3, 10), two of them for job A; eight surveys sent.
        for (number, score) in [10, 9, 8, 6, 3, 10].enumerated() {
            let answer = SurveyAnswer()
            answer.createdAt = now - Double(number + 1) * day
            answer.$job.id = number < 2 ? jobA.id : jobB.id
            answer.outcome = "rejected"
            answer.score = score
            answer.comment = "commentaire \(number)"
            answer.applicationHash = "hash-\(number)"
            try await answer.create(on: app.db)
        }
        for number in 0..<8 { try await message(b3, "satisfaction_survey", at: now - Double(number + 1) * day) }
        return History(jobA: try jobA.requireID(), jobB: try jobB.requireID())
    }

    static func indicators(_ app: Application, _ scope: Indicators.Scope) -> Indicators {
        let now = app.clock.now()
        return Indicators(
            db: app.db, period: .init(start: now - 30 * day, end: now + 1), scope: scope, now: now)
    }

    @Test func company_everyIndicator() async throws {
        try await withApp { app, _ in
            _ = try await Self.history(app)
            let company = Self.indicators(app, .company)
            let summary = try await company.summary()

            // Coverage: career site 4 applications (A1, A2, B1, B3), 3 acknowledged; referral 1 of 1.
            #expect(
                summary.coverage == [
                    .init(source: "career_site", applications: 4, acknowledged: 3),
                    .init(source: "referral", applications: 1, acknowledged: 1),
                ])
            // Acknowledged after 30, 60, 120, 300 s: median (2nd of 4) 60 s, p90 (4th) 300 s.
            let ack = try await company.timeToAcknowledge()
            #expect(ack.count == 4 && ack.median == 60 && ack.p90 == 300)
            // Promises: A1, A2, A3, B1 due; A1 and A2 kept.
            #expect(summary.promises == .init(due: 4, kept: 2))
            // First decisions after 1 (B3), 2 (A1), 5 (A2), 9 (B1) days: median 2 d, p90 9 d; 2 within 3 days,
            // 2 within 14.
            let first = try await company.timeToFirstDecision()
            #expect(first.count == 4 && first.median == 2 * Self.day && first.p90 == 9 * Self.day)
            #expect(first.within3 == 2 && first.within14 == 2 && first.over14 == 0)
            // Rejections after 5 and 9 days.
            let reject = try await company.timeToReject()
            #expect(reject.count == 2 && reject.median == 5 * Self.day && reject.p90 == 9 * Self.day)
            // Past the deadline now: A1 (screening since 18 days), A3 (new since 16), B2 (new since 40).
            #expect(try await company.waitingPastDeadline() == 3)
            // Unresponsive: A3, among the three applications in a new stage (A2, A3, B1).
            #expect(
                summary.ghosting == [
                    .init(stage: "hired", applications: 1, unresponsive: 0),
                    .init(stage: "new", applications: 3, unresponsive: 1),
                    .init(stage: "screening", applications: 1, unresponsive: 0),
                ])
            // Funnel: 5 applications; A1 and B3 went past new; B3 to hired.
            #expect(summary.funnel.map(\.reached) == [5, 2, 1, 1, 1])
            #expect(
                summary.sources == [
                    .init(source: "career_site", applications: 4, hired: 1),
                    .init(source: "referral", applications: 1, hired: 0),
                ])
            #expect(try await company.timeToHire().median == 4 * Self.day)
            // Satisfaction: 3 promoters (10, 9, 10), 2 detractors (6, 3) of 6: NPS round(100 / 6) = 17; comments
            // shown from 5 answers.
            let satisfaction = try await company.satisfaction()
            #expect(satisfaction.answers == 6 && satisfaction.surveysSent == 8 && satisfaction.nps == 17)
            #expect(satisfaction.comments.count == 6)
        }
    }

    @Test func scopes_jobAndDepartment() async throws {
        try await withApp { app, _ in
            let history = try await Self.history(app)
            let jobA = Self.indicators(app, .job(history.jobA))
            let summary = try await jobA.summary()
            #expect(
                summary.coverage == [
                    .init(source: "career_site", applications: 2, acknowledged: 2),
                    .init(source: "referral", applications: 1, acknowledged: 1),
                ])
            #expect(summary.promises == .init(due: 3, kept: 2))
            #expect(try await jobA.waitingPastDeadline() == 2)
            // Two answers for job A: the score counts, the comments stay hidden.
            let satisfaction = try await jobA.satisfaction()
            #expect(satisfaction.answers == 2 && satisfaction.comments.isEmpty)
            let sales = Self.indicators(app, .department("Sales"))
            #expect(try await sales.summary().funnel.first?.reached == 2, "B1 and B3 (B2 is outside the period)")
            #expect(try await Self.indicators(app, .jobs([])).summary().funnel.first?.reached == 0)
        }
    }

    @Test func dashboard_rendersForEachRoleAndScope_andExportsCSV() async throws {
        try await withApp { app, _ in
            let manager = try await Fixtures.user(app, "manager@example.com", role: .hiringManager)
            let admin = try await Fixtures.user(app, "admin@example.com", role: .admin)
            let browser = Browser(app)
            try await browser.login("admin@example.com")
            #expect(try await browser.get("/app/indicators").status == .ok, "empty database")
            let history = try await Self.history(app)
            try await JobMember(jobID: history.jobA, userID: try manager.requireID()).create(on: app.db)
            let jobA = history.jobA.uuidString.lowercased()
            for scope in [
                "company", "department:Sales", "job:\(jobA)",
                "recruiter:\(try admin.requireID().uuidString.lowercased())",
            ] {
                for period in ["30", "90", "365"] {
                    let page = try await browser.get("/app/indicators?period=\(period)&scope=\(scope)")
                    #expect(
                        page.status == .ok && page.body.contains("<svg class=\"chart\" role=\"img\""),
                        "\(scope) \(period)")
                }
            }
            let custom = try await browser.get("/app/indicators?period=custom&from=2026-08-01&to=2026-09-21")
            #expect(custom.status == .ok && custom.body.contains("Promesses tenues"))
            #expect(
                try await browser.get("/app/indicators?period=custom&from=2026-09-21&to=2026-08-01").status
                    == .unprocessableEntity)

            // The home page's counts: waiting in a new stage past the target, A3 and B2; six people. For the hiring
            // manager of job A: A3; A1, A2 and A3.
            func home(_ browser: Browser) async throws -> (String, String) {
                let page = try await browser.get("/app").body
                func figure(_ label: String) -> String {
                    page.components(separatedBy: "</span><span class=\"label\">\(label)").first?
                        .components(separatedBy: ">").last ?? ""
                }
                return (figure("En attente au-delà du délai"), figure("Candidats"))
            }
            #expect(try await home(browser) == ("2", "6"))
            // The hiring manager sees their job's figures; another job is hidden.
            let viewer = Browser(app)
            try await viewer.login("manager@example.com")
            #expect(try await home(viewer) == ("1", "3"))
            #expect(try await viewer.get("/app/indicators").status == .ok)
            #expect(
                try await viewer.get("/app/indicators?scope=job:\(history.jobB.uuidString.lowercased())").status
                    == .notFound)

            // CSV: RFC 4180, filters in the file name.
            let csv = try await browser.get("/app/indicators.csv?table=coverage&period=30&scope=company")
            #expect(csv.status == .ok && csv.headers.contentType?.subType == "csv")
            #expect(csv.headers.first(name: .contentDisposition)?.contains("vivier-coverage-30-company") == true)
            #expect(csv.body.hasPrefix("Source,Candidatures,Accusées,%\r\n") && csv.body.contains("Site carrière,4,3,"))
        }
    }

    /// The facts kept on each application follow their sources when these change later, and recomputing them
    /// from the messages, the timeline and the ledger (the migration's backfill) finds the same figures.
    @Test func facts_followTheirSources_andTheBackfillAgrees() async throws {
        try await withApp { app, _ in
            _ = try await Self.history(app)
            let company = Self.indicators(app, .company)
            let figures = { () async throws -> [String] in
                let summary = try await company.summary()
                return [
                    "\(summary)", "\(try await company.timeToAcknowledge())",
                    "\(try await company.timeToFirstDecision())",
                    "\(try await company.waitingOverTime().map(\.1))",
                ]
            }
            let original = try await figures()
            // A1's interview invitation was its only human message: cancelled, A1's promise is no longer kept;
            // queued again, it is.
            let invitation = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "interview_invitation").first())
            invitation.status = .cancelled
            try await invitation.save(on: app.db)
            #expect(try await company.summary().promises == .init(due: 4, kept: 1))
            invitation.status = .pending
            try await invitation.save(on: app.db)
            #expect(try await company.summary().promises == .init(due: 4, kept: 2))

            let sql = app.db.sql()
            try await sql.raw(
                """
                UPDATE applications SET acknowledged_at = NULL, first_decision_at = NULL, answered_at = NULL,
                  unresponsive_at = NULL, from_pool = \(unsafeRaw: app.db.isPostgres ? "FALSE" : "0")
                """
            ).run()
            #expect(try await figures() != original)
            for statement in UpdateApplicationsAddFacts.backfill(app.db) { try await sql.raw(statement).run() }
            #expect(try await figures() == original)
        }
    }

    @Test func csv_neutralisesFormulasAndQuotes() {
        #expect(CSV.field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSV.field("+33 6") == "'+33 6" && CSV.field("-1") == "'-1" && CSV.field("@x") == "'@x")
        #expect(CSV.field("\tcell") == "'\tcell" && CSV.field("a,b") == "\"a,b\"" && CSV.field("plain") == "plain")
        #expect(CSV.document(headers: ["a", "b"], rows: [["1", "x\ny"]]) == "a,b\r\n1,\"x\ny\"\r\n")
    }

    @Test func metrics_prometheusText_boundedLabels_tokenRequired() async throws {
        try await withApp(environment: ["VIVIER_METRICS_TOKEN": "scrape-0123456789"]) { app, _ in
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug, email: "secret.person@example.com")
            _ = try await Browser(app).get("/careers/\(job.slug)")
            _ = try await Scheduler(app: app).runOnce()
            let scraper = Browser(app)
            #expect(try await scraper.get("/metrics").status == .notFound)
            let wrong = try await scraper.request(.GET, "/metrics", headers: ["Authorization": "Bearer nope"])
            #expect(wrong.status == .notFound)
            let page = try await scraper.request(
                .GET, "/metrics", headers: ["Authorization": "Bearer scrape-0123456789"])
            #expect(page.status == .ok)
            #expect(
                page.body.contains(#"vivier_http_requests_total{method="GET",route="/careers/:slug",status="2xx"} 1"#))
            #expect(page.body.contains(#"vivier_outbox_messages{status="pending"} 1"#))
            #expect(
                page.body.contains("vivier_outbox_lag_seconds 0") && page.body.contains("vivier_scheduler_runs_total 1")
            )
            #expect(!page.body.contains("secret.person") && !page.body.contains(job.slug))
        }
    }

    @Test func noShows_pool_andWaitingOverTime() async throws {
        try await withApp { app, _ in
            _ = try await Self.history(app)
            let company = Self.indicators(app, .company)
            // A1's and A2's interviews were held (A3's cancelled); A2's candidate missed it.
            #expect(try await company.noShows() == .init(held: 2, missed: 1))
            // Pool: A1, A3, B3 (B1's newsletter withdrawn); A1's term ends within 30 days; A1, A3, B3 applied
            // after joining; B3 was hired.
            let pool = try await company.pool(), summary = try await company.summary()
            #expect(pool.people == 6 && pool.consents == ["talent_pool": 3])
            #expect(pool.expiringWithin30Days == 1 && summary.reapplied == 3 && summary.hiredFromPool == 1)
            // Every 5 days: B2 (new since 40 days) waits past its target at each point; A3 joins at the end
            // (16 days without a decision); A1, A2, B1, B3 were answered in time.
            #expect(try await company.waitingOverTime().map(\.1) == [1, 1, 1, 1, 1, 2])
        }
    }

    /// Two issues of a series and a one-off campaign, with hand-placed outcomes and events; a segment of two people.
    @Test func campaigns_bySeriesAndSegment_andPoolMovement() async throws {
        try await withApp { app, clock in
            let now = clock.now()
            let people = try await CampaignTests.people(app, 4, prefix: "k")
            let series = NewsletterSeries(
                name: "Tech", summary: "", cadence: .biweekly, weekday: 2, hour: 10, timeZone: "Europe/Paris",
                offersDigest: false, segmentID: nil, at: now)
            try await series.create(on: app.db)
            func campaign(_ kind: Campaign.Kind, series: NewsletterSeries?) async throws -> UUID {
                let campaign = Campaign(name: "c", kind: kind, purpose: .newsletter, at: now)
                campaign.$series.id = series?.id
                try await campaign.create(on: app.db)
                return try campaign.requireID()
            }
            let issue1 = try await campaign(.newsletter, series: series)
            let issue2 = try await campaign(.newsletter, series: series)
            let oneOff = try await campaign(.oneOff, series: nil)
            var rows: [UUID] = []
            func message(_ campaignID: UUID, _ person: UUID, _ status: OutboxMessage.Status, reply: String = "250 ok")
                async throws
            {
                let row = OutboxMessage(
                    kind: "campaign", dedupeKey: "\(campaignID):\(person)", transactional: false, candidateID: person,
                    sender: "s@x", recipient: "r@x", subject: "", needsSMTPUTF8: false, now: now - 86_400)
                row.campaignID = campaignID
                row.status = status
                row.lastReply = reply
                try await row.create(on: app.db)
                rows.append(try row.requireID())
            }
            func event(_ campaignID: UUID, _ row: Int, _ kind: CampaignEvent.Kind) async throws {
                try await CampaignEvent(
                    campaignID: campaignID, outboxID: rows[row], candidateID: nil, kind: kind, at: now - 3600
                ).create(on: app.db)
            }
            // Issue 1 to four people: three delivered, one hard bounce; person 0 clicks twice, person 1 once and
            // opens; person 2 unsubscribes.
            try await message(issue1, people[0], .sent)
            try await message(issue1, people[1], .sent)
            try await message(issue1, people[2], .sent)
            try await message(issue1, people[3], .failed, reply: "bounce 5.1.1: unknown")
            try await event(issue1, 0, .click)
            try await event(issue1, 0, .click)
            try await event(issue1, 1, .click)
            try await event(issue1, 1, .open)
            try await event(issue1, 2, .unsubscribe)
            // Issue 2 to two people, both delivered; person 0 opens and complains.
            try await message(issue2, people[0], .sent)
            try await message(issue2, people[1], .sent)
            try await event(issue2, 4, .open)
            try await event(issue2, 4, .complaint)
            // The one-off to one person, suppressed.
            try await message(oneOff, people[3], .suppressed)

            let indicators = Self.indicators(app, .company)
            #expect(
                try await indicators.campaignsBySeries() == [
                    .init(
                        name: "Tech", recipients: 6, delivered: 5, bounced: 1, uniqueClicks: 2, opens: 2,
                        unsubscribes: 1, complaints: 1),
                    .init(
                        name: "one_off", recipients: 1, delivered: 0, bounced: 0, uniqueClicks: 0, opens: 0,
                        unsubscribes: 0, complaints: 0),
                ])
            let tag = Tag(name: "vip")
            try await tag.create(on: app.db)
            for person in people.prefix(2) {
                try await CandidateTag(candidateID: person, tagID: tag.requireID()).create(on: app.db)
            }
            try await Segment(
                name: "VIP", definition: SegmentDefinition(rules: [SegmentRule(field: .tag, value: "vip")]), at: now
            ).create(on: app.db)
            // People 0 and 1: four messages (two per issue), all delivered, two clickers, two opens, one complaint.
            #expect(
                try await indicators.campaignsBySegment() == [
                    .init(
                        name: "VIP", recipients: 4, delivered: 4, bounced: 0, uniqueClicks: 2, opens: 2,
                        unsubscribes: 0, complaints: 1)
                ])

            // Pool: people 0 and 1 join (one event each), person 1 leaves later; person 0 clicked: re-engaged.
            for person in people.prefix(2) {
                try await ConsentLedger.record(
                    .talentPool, .granted, for: person, channel: .careerForm, language: .fr, on: app.db, now: now - 7200
                )
            }
            try await ConsentLedger.record(
                .talentPool, .withdrawn, for: people[1], channel: .portal, language: .fr, on: app.db, now: now - 60)
            let clicker = try await CampaignEvent.query(on: app.db).filter(\.$kind == .click).all()
            for event in clicker { event.$candidate.id = people[0]; try await event.save(on: app.db) }
            #expect(try await indicators.poolMovement() == .init(joined: 2, left: 1, reengaged: 1))
        }
    }
}

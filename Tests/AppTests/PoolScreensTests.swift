import Fluent
import Foundation
import Testing
import Vapor
import VivierCore
import VivierMail

@testable import App

@Suite("Talent pool screens: segments, newsletters, campaigns, job match")
struct PoolScreensTests {
    static func recruiter(_ app: Application) async throws -> Browser {
        try await Fixtures.user(app, "rh@example.com", role: .recruiter)
        let browser = Browser(app)
        try await browser.login("rh@example.com")
        return browser
    }

    @Test func segmentBuilder_savesData_countsLive_andRefusesBadValues() async throws {
        try await withApp { app, clock in
            let people = try await CampaignTests.people(app, 3, prefix: "s")
            let tag = Tag(name: "Swift")
            try await tag.create(on: app.db)
            try await CandidateTag(candidateID: people[0], tagID: tag.requireID()).create(on: app.db)
            try await SearchIndex.refresh(candidateID: people[0], on: app.db)
            let browser = try await Self.recruiter(app)
            #expect(try await browser.open("/app/segments").body.contains("Aucun segment"))
            _ = try await browser.open("/app/segments/new")

            // Tag swift OR (group 1, negated: language en) — everyone French, so the group is true for all three.
            let fields = [
                ("name", "Développeurs Swift"), ("match", "all"),
                ("group_0", "0"), ("field_0", "tag"), ("value_0", "swift"),
                ("group_1", "0"), ("field_1", "consent"), ("value_1", "newsletter"), ("option_1", "active"),
                ("group_2", "1"), ("field_2", "language"), ("value_2", "en"), ("group_match_1", "any"),
                ("group_not_1", "on"),
            ]
            let live = try await browser.post("/app/segments/preview", fields, headers: ["X-Preview": "1"])
            #expect(live.status == .ok && live.body.contains("<strong>1</strong>"))
            let saved = try await browser.post("/app/segments", fields + [("intent", "save")])
            #expect(saved.status == .seeOther)
            let segment = try #require(try await Segment.query(on: app.db).first())
            #expect(segment.definition.rules.count == 2 && segment.definition.groups.first?.negate == true)
            let page = try await browser.open(SiteURL.segment(try segment.requireID()))
            #expect(page.body.contains("s0@example.com") && !page.body.contains("s1@example.com"))
            #expect(page.body.contains("{{#segment.developpeurs_swift}}"))

            let bad = try await browser.post(
                "/app/segments", [("name", "Récents"), ("field_0", "applied_after"), ("value_0", "hier")])
            #expect(bad.status == .unprocessableEntity && bad.body.contains("2026-01-31"))
            #expect(try await Segment.query(on: app.db).count() == 1)
            _ = clock
        }
    }

    @Test func campaign_draftPreviewTestSend_thenControls() async throws {
        try await withApp { app, clock in
            try await CampaignTests.people(app, 5, prefix: "c")
            let browser = try await Self.recruiter(app)
            _ = try await browser.open("/app/campaigns")
            let created = try await browser.post("/app/campaigns", [])
            let url = try #require(created.headers.first(name: .location))
            _ = try await browser.open(url)
            var form: [(String, String)] = [
                ("name", "Portes ouvertes"), ("segment", ""), ("purpose", "newsletter"),
                ("subject_fr", "Portes ouvertes, {{candidate.first_name}}"),
                ("body_fr", "Bonjour {{candidate.first_name}}, venez [nous voir](https://example.com/po)."),
                ("subject_en", "Open day, {{candidate.first_name}}"),
                ("body_en", "Hello {{candidate.first_name}}, come and [see us](https://example.com/po)."),
            ]
            let unknown = try await browser.post(url, form + [("intent", "preview"), ("body_en", "{{candidate.age}}")])
            #expect(unknown.status == .unprocessableEntity && unknown.body.contains("candidate.age"))
            let preview = try await browser.post(url, form + [("intent", "preview")])
            #expect(preview.status == .ok && preview.body.contains("Portes ouvertes, P"))
            #expect(try await browser.post(url, form + [("intent", "test")]).status == .seeOther)
            let test = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "campaign_test").first())
            #expect(test.recipient == "rh@example.com" && test.subject.hasPrefix("[Test] Portes ouvertes"))

            form.append(contentsOf: [("send_date", "2020-01-01"), ("send_time", "10:00")])
            #expect(try await browser.post(url, form + [("intent", "schedule")]).status == .unprocessableEntity)
            form.removeLast(2)
            #expect(try await browser.post(url, form + [("intent", "send")]).status == .seeOther)
            let campaign = try #require(try await Campaign.query(on: app.db).first())
            // "Send now" queues in the background: wait until every recipient has their row.
            for _ in 0..<200 where try await Campaign.find(campaign.requireID(), on: app.db)?.enqueuedAt == nil {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(try await Campaign.find(campaign.requireID(), on: app.db)?.status == .sending)
            let page = try await browser.open(url)
            #expect(page.body.contains("role=\"progressbar\"") && page.body.contains("Mettre en pause"))
            #expect(try await browser.post(url + "/pause", []).status == .seeOther)
            #expect(try await CampaignSender.progress(campaign.requireID(), on: app.db).pending == 5)
            #expect(try await browser.open(url).body.contains("Reprendre"))
            #expect(try await browser.post(url + "/resume", []).status == .seeOther)
            #expect(try await browser.post(url + "/cancel", []).status == .seeOther)
            #expect(try await CampaignSender.progress(campaign.requireID(), on: app.db).cancelled == 5)
            // A campaign that left cannot be edited any more.
            let late = form.map { $0.0 == "name" ? ("name", "Renamed after sending") : $0 }
            #expect(try await browser.post(url, late + [("intent", "save")]).status == .seeOther)
            #expect(try await Campaign.find(campaign.requireID(), on: app.db)?.name == "Portes ouvertes")
        }
    }

    @Test func newsletterSeries_andNextIssueSlot() async throws {
        try await withApp { app, clock in
            let browser = try await Self.recruiter(app)
            _ = try await browser.open("/app/newsletters")
            let refused = try await browser.post("/app/newsletters", [("name", ""), ("hour", "25")])
            #expect(refused.status == .unprocessableEntity)
            let saved = try await browser.post(
                "/app/newsletters",
                [
                    ("name", "Les nouvelles de l'équipe Tech"), ("summary", ""), ("cadence", "biweekly"),
                    ("weekday", "2"), ("hour", "10"), ("time_zone", "Europe/Paris"), ("segment", ""),
                    ("offers_digest", "on"),
                ])
            #expect(saved.status == .seeOther)
            let series = try #require(try await NewsletterSeries.query(on: app.db).first())
            _ = try await browser.open(SiteURL.newsletter(try series.requireID()))
            #expect(
                try await browser.post("/app/campaigns", [("series", series.requireID().uuidString)]).status
                    == .seeOther)
            let issue = try #require(try await Campaign.query(on: app.db).filter(\.$kind == .newsletter).first())
            #expect(issue.name == "Les nouvelles de l'équipe Tech nº1" && issue.purpose == .newsletter)
            // Next Tuesday 10:00 in Paris after Monday 21 September 2026: 22 September, 08:00 UTC.
            #expect(issue.scheduledAt == SegmentDefinition.day("2026-09-22")! + 8 * 3600)
            _ = clock
        }
    }

    @Test func jobMatch_ranksAndExplains_thenDraftsTheCampaign() async throws {
        try await withApp { app, clock in
            let job = try await Fixtures.job(app, title: "Développeur Swift")
            let people = try await CampaignTests.people(app, 3, prefix: "m")
            for id in people.prefix(2) {
                try await ConsentLedger.record(
                    .talentPool, .granted, for: id, channel: .careerForm, language: .fr, on: app.db, now: clock.now())
            }
            let tag = Tag(name: "swift")
            try await tag.create(on: app.db)
            // Both match by tag; only the first is also in Paris, so ranks first. The third has no pool consent.
            for id in people {
                try await CandidateTag(candidateID: id, tagID: tag.requireID()).create(on: app.db)
                try await SearchIndex.refresh(candidateID: id, on: app.db)
            }
            let paris = try #require(try await Candidate.find(people[0], on: app.db))
            paris.location = "Paris 11e"
            try await paris.save(on: app.db)
            let matches = try await JobMatch.propose(for: job, on: app.db, now: clock.now())
            #expect(matches.map(\.candidateID) == [people[0], people[1]])
            #expect(matches[0].reasons.contains("tag:swift") && matches[0].reasons.contains("location:Paris"))
            #expect(matches[0].score == 3 + 2 + 1 && matches[1].score == 5)

            let browser = try await Self.recruiter(app)
            let url = SiteURL.jobMatch(try job.requireID())
            // Opening the job leads to the people it matches.
            job.status = .draft
            try await job.save(on: app.db)
            _ = try await browser.open(SiteURL.editJob(try job.requireID()))
            let opened = try await browser.post(
                SiteURL.editJob(try job.requireID()).replacingOccurrences(of: "/edit", with: "/status"),
                [("status", "open")])
            #expect(opened.status == .seeOther && opened.headers.first(name: .location) == url)
            let page = try await browser.open(url)
            #expect(page.body.contains("2 personnes du vivier"))
            #expect(page.body.contains("tag : swift") && page.body.contains("m0@example.com") == false)
            let drafted = try await browser.post(url, [("pick_\(people[0].uuidString.lowercased())", "on")])
            #expect(drafted.status == .seeOther)
            let campaign = try #require(try await Campaign.query(on: app.db).filter(\.$kind == .jobMatch).first())
            #expect(campaign.purpose == .talentPool && campaign.$job.id == job.id)
            campaign.status = .scheduled
            campaign.scheduledAt = clock.now()
            try await campaign.save(on: app.db)
            #expect(try await CampaignSender.runDue(app: app, now: clock.now()) == 1)
            let message = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$campaignID == campaign.requireID()).first())
            #expect(
                message.$candidate.id == people[0] && message.subject == "Développeur Swift : une offre pour vous ?")
        }
    }

    @Test func preferenceCentre_leavesOneSeries_keepsTheOther() async throws {
        try await withApp { app, clock in
            let person = try #require(try await CampaignTests.people(app, 1, prefix: "p").first)
            var series: [NewsletterSeries] = []
            for name in ["Tech", "Atelier"] {
                let item = NewsletterSeries(
                    name: name, summary: "", cadence: .monthly, weekday: 4, hour: 9, timeZone: "Europe/Paris",
                    offersDigest: false, segmentID: nil, at: clock.now())
                try await item.create(on: app.db)
                series.append(item)
            }
            // The signed preferences link of a campaign message opens the portal without a stored token.
            let link = CampaignSender(db: app.db, config: app.config, now: clock.now()).preferencesURL(person)
            let browser = Browser(app)
            let entry = try await browser.get(String(link.dropFirst(app.config.publicURL.count)))
            #expect(entry.status == .seeOther)
            let portal = try await browser.open("/portal")
            #expect(portal.body.contains("series-\(series[0].id!.uuidString.lowercased())\" name=\"series[]\""))
            let saved = try await browser.post(
                "/portal/consents",
                [
                    ("purposes[]", "newsletter"), ("series[]", series[0].id!.uuidString.lowercased()),
                    ("rhythm", "biweekly"),
                ])
            #expect(saved.status == .seeOther)
            #expect(try await ConsentLedger.state(of: person, series: series[0].id, on: app.db)[.newsletter] == true)
            #expect(try await ConsentLedger.state(of: person, series: series[1].id, on: app.db)[.newsletter] == false)
            let query = SegmentQuery(db: app.db, now: clock.now())
            #expect(try await query.count(SegmentDefinition(), requiring: (.newsletter, series[0].id)) == 1)
            #expect(try await query.count(SegmentDefinition(), requiring: (.newsletter, series[1].id)) == 0)
            #expect(
                try await ConsentEvent.query(on: app.db).filter(\.$candidate.$id == person).filter(
                    \.$channel == .portal
                )
                .count() == 1, "one event: the series left, nothing else changed")
        }
    }
}

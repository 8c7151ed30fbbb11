import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing
import Vapor
import VivierCore
import VivierMail

@testable import App

@Suite("Campaigns: per-recipient sending, controls, consent at send time, tracking")
struct CampaignTests {
    /// `count` people with `action` as their latest newsletter event (and the confirmation before it), in bulk.
    @discardableResult
    static func people(
        _ app: Application, _ count: Int, prefix: String, latest: ConsentAction = .confirmed,
        language: Language = .fr
    ) async throws -> [UUID] {
        let now = app.clock.now()
        var ids: [UUID] = []
        for start in stride(from: 0, to: count, by: 500) {
            let batch = (start..<min(start + 500, count)).map { index in
                Candidate(
                    id: UUID(), email: "\(prefix)\(index)@example.com", firstName: "P\(index)", lastName: prefix,
                    phone: "", language: language)
            }
            try await batch.create(on: app.db)
            var events: [ConsentEvent] = []
            var states: [ConsentState] = []
            for candidate in batch {
                let id = candidate.id!
                for (offset, action) in [ConsentAction.granted, latest].enumerated() {
                    events.append(
                        ConsentEvent(
                            candidateID: id, purpose: .newsletter, action: action, channel: .careerForm,
                            wordingVersion: 1, locale: language.rawValue, at: now - 100 + Double(offset)))
                }
                states.append(
                    ConsentState(candidateID: id, purpose: .newsletter, series: "", action: latest, at: now - 99))
            }
            try await events.create(on: app.db)
            try await states.create(on: app.db)
            ids += batch.map { $0.id! }
        }
        return ids
    }

    static func campaign(
        _ app: Application, name: String = "Nos offres", body: String? = nil, trackOpens: Bool = false,
        notAfter: Date? = nil
    ) async throws -> Campaign {
        let campaign = Campaign(name: name, kind: .oneOff, purpose: .newsletter, at: app.clock.now())
        campaign.subjectFR = "Bonjour {{candidate.first_name}}"
        campaign.bodyFR =
            body ?? "Bonjour {{candidate.first_name}},\n\nVoici [nos offres](https://example.com/jobs?team=a&b=c).\n"
        campaign.subjectEN = "Hello {{candidate.first_name}}"
        campaign.bodyEN = "Hello,\n\nSee [our jobs](https://example.com/jobs?team=a&b=c).\n"
        campaign.trackOpens = trackOpens
        campaign.notAfter = notAfter
        campaign.status = .scheduled
        campaign.scheduledAt = app.clock.now()
        try await campaign.create(on: app.db)
        return campaign
    }

    static func drain(_ worker: OutboxWorker) async throws {
        while try await worker.runOnce() > 0 {}
    }

    @Test func insert_skipsPeopleAlreadyQueued_andWritesWhatEveryRowShares() async throws {
        try await withApp { app, clock in
            let people = try await Self.people(app, 3, prefix: "dup")
            let deadline = Date(timeIntervalSince1970: (clock.now().timeIntervalSince1970 + 86_400).rounded())
            let campaign = try await Self.campaign(app, notAfter: deadline)
            let campaignID = try campaign.requireID()
            func row(_ person: UUID, _ text: String) -> CampaignSender.Row {
                CampaignSender.Row(
                    id: UUID.timeOrdered(at: clock.now()), candidateID: person,
                    dedupeKey: CampaignSender.dedupeKey(campaignID, person), sender: "bounce@example.com",
                    recipient: "\(text)@example.com", subject: "Sujet \(text)", message: "Corps \(text)",
                    needsSMTPUTF8: text == "b")
            }
            let first = [row(people[0], "a"), row(people[1], "b")]
            #expect(
                try await CampaignSender.insert(first, of: campaign, held: false, now: clock.now(), on: app.db) == 2)
            // The first person again (a new row id, the same dedupe key) is skipped; the third is added, held.
            let second = [row(people[0], "c"), row(people[2], "d")]
            #expect(
                try await CampaignSender.insert(second, of: campaign, held: true, now: clock.now(), on: app.db) == 1)

            let rows = try await OutboxMessage.query(on: app.db).filter(\.$campaignID == campaignID).all()
            #expect(Set(rows.compactMap(\.id)) == Set([first[0].id, first[1].id, second[1].id]))
            let byID = Dictionary(uniqueKeysWithValues: rows.map { ($0.id!, $0) })
            #expect(byID[first[0].id]?.status == .pending && byID[second[1].id]?.status == .held)
            #expect(byID[first[1].id]?.needsSMTPUTF8 == true && byID[first[0].id]?.needsSMTPUTF8 == false)
            #expect(byID[first[0].id]?.recipient == "a@example.com" && byID[second[1].id]?.subject == "Sujet d")
            #expect(rows.allSatisfy { $0.notAfter == deadline && $0.consentSeries == nil && $0.transactional == false })
            let bodies = try await OutboxBody.query(on: app.db).all()
            #expect(Set(bodies.map(\.message)) == ["Corps a", "Corps b", "Corps d"])
        }
    }

    @Test func tenThousand_pauseResume_andConcurrentUnsubscribes_eachConsentedPersonExactlyOnce() async throws {
        try await withApp { app, clock in
            let transport = ScriptedTransport()
            app.mailTransport = transport
            let consented = try await Self.people(app, 10_000, prefix: "ok")
            try await Self.people(app, 100, prefix: "pending", latest: .granted)
            try await Self.people(app, 100, prefix: "gone", latest: .withdrawn)
            let campaign = try await Self.campaign(app)
            let campaignID = try campaign.requireID()

            #expect(try await CampaignSender.runDue(app: app, now: clock.now()) == 10_000)
            #expect(try await Campaign.find(campaignID, on: app.db)?.recipients == 10_000)
            // Queueing again adds no one: a person has one row per campaign.
            #expect(
                try await CampaignSender(db: app.db, config: app.config, now: clock.now()).enqueue(campaign)
                    == 0)

            let worker = OutboxWorker(app: app, batchSize: 100)
            for _ in 0..<20 { try await worker.runOnce() }
            #expect(transport.recipients.count == 2_000)

            let sender = CampaignSender(db: app.db, config: app.config, now: clock.now())
            try await sender.pause(try #require(try await Campaign.find(campaignID, on: app.db)))
            #expect(try await worker.runOnce() == 0, "a paused campaign's messages are not claimed")
            #expect(try await sender.progress(campaignID).pending == 8_000)

            // Fifty people already served and fifty still waiting unsubscribe (RFC 8058 POST, no cookie, no
            // token) while the campaign sends again.
            let sentBefore = Set(transport.recipients)
            let all = try await OutboxMessage.query(on: app.db).filter(\.$campaignID == campaignID).all()
            let rows =
                Array(all.filter { sentBefore.contains($0.recipient) }.prefix(50))
                + Array(all.filter { !sentBefore.contains($0.recipient) && $0.recipient.hasPrefix("ok") }.prefix(50))
            try await sender.resume(try #require(try await Campaign.find(campaignID, on: app.db)))
            let sending = Task { try await Self.drain(worker) }
            let clicks = NIOLockedValueBox<[String: Int]>([:])
            for row in rows {
                let token = try #require(
                    (try await row.body(on: app.db)).firstMatch(of: try Regex("/unsubscribe/([A-Za-z0-9_.\\-]+)"))?
                        .output[1].substring)
                let response = try await Browser(app).request(
                    .POST, "/unsubscribe/\(token)",
                    headers: ["Content-Type": "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "List-Unsubscribe=One-Click"))
                #expect(response.status == .ok)
                let seen = transport.recipients.count
                clicks.withLockedValue { $0[row.recipient] = seen }
            }
            try await sending.value
            try await Self.drain(worker)

            let received = transport.recipients
            #expect(received.count == Set(received).count, "nobody receives the campaign twice")
            let leavers = Set(rows.map(\.recipient))
            let expected = Set(
                try await Candidate.query(on: app.db).filter(\.$id ~~ consented).all().map(\.email))
            #expect(Set(received).subtracting(leavers) == expected.subtracting(leavers))
            #expect(!received.contains { $0.hasPrefix("pending") || $0.hasPrefix("gone") })
            // A leaver got the message only if it was sent, or already handed to a connection, before the click.
            let concurrency = app.config.mail.smtp?.poolSize ?? 4
            for (address, seen) in clicks.withLockedValue({ $0 }) {
                if let index = received.firstIndex(of: address) {
                    #expect(sentBefore.contains(address) || index < seen + concurrency, "\(address) after the click")
                }
            }
            #expect(sentBefore.intersection(leavers).count == 50)
            let progress = try await sender.progress(campaignID)
            #expect(progress.pending == 0 && progress.sent == received.count && progress.total == 10_000)
            #expect(progress.suppressed == 10_000 - received.count)
            #expect(
                try await CampaignEvent.query(on: app.db).filter(\.$campaign.$id == campaignID)
                    .filter(\.$kind == .unsubscribe).count() == 100)
            _ = try await CampaignSender.runDue(app: app, now: clock.now())
            #expect(try await Campaign.find(campaignID, on: app.db)?.status == .finished)
        }
    }

    @Test func cancel_andDeadline_stopWhatIsLeft_withoutTouchingWhatWasSent() async throws {
        try await withApp { app, clock in
            let transport = ScriptedTransport()
            app.mailTransport = transport
            try await Self.people(app, 300, prefix: "p")
            let campaign = try await Self.campaign(app)
            _ = try await CampaignSender.runDue(app: app, now: clock.now())
            let worker = OutboxWorker(app: app, batchSize: 100)
            try await worker.runOnce()
            let sender = CampaignSender(db: app.db, config: app.config, now: clock.now())
            try await sender.cancel(try #require(try await Campaign.find(campaign.requireID(), on: app.db)))
            #expect(try await worker.runOnce() == 0)
            let progress = try await sender.progress(campaign.requireID())
            #expect(progress.sent == 100 && progress.cancelled == 200 && transport.recipients.count == 100)
            #expect(try await Campaign.find(campaign.requireID(), on: app.db)?.status == .cancelled)

            let late = try await Self.campaign(app, name: "Avant vendredi", notAfter: clock.now() + 3600)
            _ = try await CampaignSender.runDue(app: app, now: clock.now())
            try await worker.runOnce()
            clock.advance(by: 7200)
            try await Self.drain(worker)
            let lateProgress = try await sender.progress(late.requireID())
            #expect(lateProgress.sent == 100 && lateProgress.cancelled == 200)
            #expect(
                try await OutboxMessage.query(on: app.db).filter(\.$campaignID == late.requireID())
                    .filter(\.$status == .cancelled).first()?.lastReply == "past the campaign's deadline")
        }
    }

    @Test func message_hasItsHeaders_segmentBlocks_andTrackedLinks() async throws {
        try await withApp { app, clock in
            let people = try await Self.people(app, 2, prefix: "t")
            let tag = Tag(name: "swift")
            try await tag.create(on: app.db)
            try await CandidateTag(candidateID: people[0], tagID: tag.requireID()).create(on: app.db)
            try await Segment(
                name: "Développeurs Swift",
                definition: SegmentDefinition(rules: [SegmentRule(field: .tag, value: "swift")]), at: clock.now()
            ).create(on: app.db)
            let campaign = try await Self.campaign(
                app,
                body: """
                    Bonjour {{candidate.first_name}},

                    {{#segment.developpeurs_swift}}Une offre Swift pour vous.{{/segment.developpeurs_swift}}

                    [Nos offres](https://example.com/jobs?team=a&b=c) · [Vos préférences]({{preferences_url}})
                    """, trackOpens: true)
            _ = try await CampaignSender.runDue(app: app, now: clock.now())
            let rows = try await OutboxMessage.query(on: app.db).filter(\.$campaignID == campaign.requireID()).all()
            #expect(rows.count == 2)
            let mine = try #require(rows.first { $0.$candidate.id == people[0] })
            let other = try #require(rows.first { $0.$candidate.id == people[1] })
            let reader = MailReader(Array((try await mine.body(on: app.db)).utf8))
            let unsubscribe = try #require(reader.header("List-Unsubscribe"))
            #expect(
                unsubscribe.contains("<\(app.config.publicURL)/unsubscribe/") && unsubscribe.contains("<mailto:unsub+"))
            #expect(reader.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
            let text = reader.part("text/plain")?.text ?? ""
            let html = reader.part("text/html")?.text ?? ""
            #expect(text.contains("Une offre Swift pour vous."))
            let otherText = MailReader(Array((try await other.body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
            #expect(otherText.contains("Bonjour P1") && !otherText.contains("Swift pour vous"))
            #expect(!html.contains("example.com/jobs"), "the author's link goes through the click counter")
            #expect(html.contains("/portal/t/"), "the person's own link is not rewritten")
            #expect(html.contains("/o/"), "open pixel")
            // The author placed the preference link but not the unsubscribe link: both end the message once.
            #expect(text.contains("Me désinscrire") && text.contains("\(app.config.publicURL)/unsubscribe/"))
            #expect(html.components(separatedBy: "/unsubscribe/").count == 2)
            #expect(html.components(separatedBy: "/portal/t/").count == 2)

            // A click redirects to the original address, counts, and is an active contact; the pixel counts an open.
            let click = try await PortalTests.link("/c/", in: mine, app)
            let response = try await Browser(app).get(click)
            #expect(response.status == .seeOther)
            #expect(response.headers.first(name: .location) == "https://example.com/jobs?team=a&b=c")
            _ = try await Browser(app).get(click)
            #expect(try await Candidate.find(people[0], on: app.db)?.lastActiveContactAt == clock.now())
            let pixel = try #require(html.firstMatch(of: try Regex("/o/([A-Za-z0-9_.\\-]+)"))?.output[0].substring)
            let opened = try await Browser(app).get(String(pixel))
            #expect(opened.status == .ok && opened.headers.contentType?.subType == "gif")
            #expect(try await Browser(app).get("/c/forged.token").status == .badRequest)

            let report = try await CampaignReport.make(campaign, db: app.db, now: clock.now())
            #expect(report.recipients == 2 && report.uniqueClicks == 1 && report.clicks == 2 && report.opens == 1)
            #expect(report.links.count == 1 && report.links[0].url == "https://example.com/jobs?team=a&b=c")
            #expect(report.links[0].uniqueClicks == 1)
            let segment = try #require(report.segments.first { $0.name == "Développeurs Swift" })
            #expect(segment.recipients == 1 && segment.uniqueClicks == 1)
        }
    }

    @Test func unsubscribeByMail_andComplaint_leaveEveryList_andCount() async throws {
        try await withApp { app, clock in
            let people = try await Self.people(app, 2, prefix: "m")
            let campaign = try await Self.campaign(app)
            _ = try await CampaignSender.runDue(app: app, now: clock.now())
            let rows = try await OutboxMessage.query(on: app.db).filter(\.$campaignID == campaign.requireID()).sort(
                \.$recipient
            ).all()
            let inbound = Inbound(db: app.db, secret: app.config.secret, now: clock.now())
            let mailto = try #require(
                MailReader(Array((try await rows[0].body(on: app.db)).utf8)).header("List-Unsubscribe")?.firstMatch(
                    of: try Regex("mailto:([^>]+)"))?.output[1].substring)
            let request = "From: m0@example.com\r\nTo: \(mailto)\r\nSubject: unsubscribe\r\n\r\n\r\n"
            #expect(try await inbound.ingest(Array(request.utf8), recipient: String(mailto)) == .unsubscribed)
            let complaint = """
                From: fbl@isp.example\r
                To: \(rows[1].sender)\r
                Subject: complaint\r
                MIME-Version: 1.0\r
                Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r
                \r
                --b\r
                Content-Type: text/plain\r
                \r
                This is an abuse report.\r
                --b\r
                Content-Type: message/feedback-report\r
                \r
                Feedback-Type: abuse\r
                Version: 1\r
                --b--\r

                """
            #expect(try await inbound.ingest(Array(complaint.utf8), recipient: rows[1].sender) == .complaint)
            for id in people {
                #expect(try await Newsletter.marketable(.newsletter, candidateID: id, on: app.db) == false)
            }
            let report = try await CampaignReport.make(campaign, db: app.db, now: clock.now())
            #expect(report.unsubscribes == 1 && report.complaints == 1)
        }
    }

    @Test func monthlyDigest_goesToThoseWhoChoseIt_andIssuesSkipThem() async throws {
        try await withApp { app, clock in
            let transport = ScriptedTransport()
            app.mailTransport = transport
            let people = try await Self.people(app, 3, prefix: "d")
            let monthly = try #require(try await Candidate.find(people[0], on: app.db))
            monthly.newsletterRhythm = "monthly"
            try await monthly.save(on: app.db)
            let series = NewsletterSeries(
                name: "Tech", summary: "", cadence: .biweekly, weekday: 2, hour: 10, timeZone: "Europe/Paris",
                offersDigest: true, segmentID: nil, at: clock.now())
            try await series.create(on: app.db)
            for number in 1...2 {
                let issue = try await Self.campaign(app, name: "Numéro \(number)")
                issue.kind = .newsletter
                issue.$series.id = series.id
                issue.subjectFR = "Numéro \(number)"
                try await issue.save(on: app.db)
                #expect(try await CampaignSender.runDue(app: app, now: clock.now()) == 2, "not the monthly reader")
            }
            // The first run of the next month writes the digest once; a second run writes nothing.
            clock.advance(by: 20 * 86_400)
            let timeZone = TimeZone(identifier: "Europe/Paris")!
            #expect(try await CampaignSender.monthlyDigests(app: app, now: clock.now(), timeZone: timeZone) == 1)
            #expect(try await CampaignSender.monthlyDigests(app: app, now: clock.now(), timeZone: timeZone) == 0)
            #expect(try await CampaignSender.runDue(app: app, now: clock.now()) == 1)
            let digest = try #require(try await Campaign.query(on: app.db).filter(\.$kind == .digest).first())
            #expect(digest.bodyFR.contains("## Numéro 1") && digest.bodyFR.contains("## Numéro 2"))
            try await Self.drain(OutboxWorker(app: app))
            #expect(transport.recipients.filter { $0 == monthly.email }.count == 1)
            #expect(transport.recipients.count == 5)
        }
    }

    /// The stencil (rendered once, filled per person) gives exactly what rendering each person's message gives,
    /// whatever their name holds.
    @Test func stencil_fillsExactlyWhatRenderingEachPersonGives() async throws {
        try await withApp { app, clock in
            let campaign = try await Self.campaign(
                app,
                body: """
                    Bonjour {{candidate.first_name}} ({{candidate.full_name}}),

                    - [Nos offres](https://example.com/jobs?team=a&b=c) pour **{{candidate.last_name}}**
                    - [Encore](https://example.com/jobs?team=a&b=c), puis [la FAQ](https://example.com/faq)

                    [Préférences]({{preferences_url}}) · [Désinscription]({{unsubscribe_url}})
                    """)
            let sender = CampaignSender(db: app.db, config: app.config, now: clock.now())
            let template = try MessageTemplate(subject: campaign.subjectFR, body: campaign.bodyFR).compiled()
            let links = ["https://example.com/jobs?team=a&b=c": 1, "https://example.com/faq": 2]
            let company = try await Company.load(on: app.db)
            let names = [
                ("Zoë", "O'Brien"), ("*Jo*", "<b>&amp;</b> > 2"), ("Jean_Luc", "[x](javascript:alert(1))"),
                ("Ana\nMaria", "Da Silva"), ("{{x}}", "#1 \"quoted\""), ("Ünïcödé 😀", "`code`"),
                ("\"Lou\" <i>&amp;", "Title"),
            ]
            for (first, last) in names {
                let person = Candidate(
                    email: "\(UUID().uuidString.prefix(8))@example.com", firstName: first, lastName: last, phone: "",
                    language: .fr)
                try await person.create(on: app.db)
                let id = try person.requireID()
                let direct = try await sender.render(campaign, for: person)
                let unsubscribe = Newsletter.unsubscribeURL(candidateID: id, config: app.config, now: clock.now())
                let brand = Brand(company)
                let frame = { (html: String, subject: String) in
                    CandidateMail.frame(html, subject: subject, brand: brand, publicURL: app.config.publicURL)
                }
                let pixel = "<img src=\"https://example.com/o/\(id)\" alt=\"\">"
                let stencil = Stencil(template: template, links: links, frame: frame) {
                    first, last, preferences, unsubscribe in
                    sender.context(
                        firstName: first, lastName: last, candidateID: id, unsubscribeURL: unsubscribe,
                        company: company, job: nil, segments: [:]
                    ).merging(["preferences_url": preferences]) { $1 }
                }
                let filled = stencil.fill(
                    firstName: first, lastName: last, preferencesURL: sender.preferencesURL(id),
                    unsubscribeURL: unsubscribe, openPixel: pixel,
                    click: { position in links.first { $0.value == position }!.key })
                #expect(filled.subject == direct.subject, "subject for \(first) \(last)")
                #expect(filled.text == direct.text, "text for \(first) \(last)")
                #expect(filled.html == frame(direct.html + pixel, direct.subject), "html for \(first) \(last)")
            }
        }
    }
}

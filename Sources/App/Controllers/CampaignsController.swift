import Fluent
import Vapor
import VivierCore
import VivierMail

/// Campaigns from draft to report: write (both languages, merge tags, per-segment blocks), preview for a real
/// recipient, test-send to oneself, schedule or send, follow the progress, pause, resume or cancel, read the report.
struct CampaignsController {
    struct ListRow: Encodable {
        var url: String
        var name: String
        var kind: String
        var status: String
        var statusLabel: String
        var recipients: Int
        var sent: Int
        var date: String
    }

    struct ListContent: Encodable {
        var rows: [ListRow]
        var hasRows: Bool
    }

    @Sendable func list(req: Request) async throws -> Response {
        var rows: [ListRow] = []
        let campaigns = try await Campaign.query(on: req.db).sort(\.$createdAt, .descending).limit(200).all()
        let progresses = try await CampaignSender.progress(of: campaigns.compactMap(\.id), on: req.db)
        for campaign in campaigns {
            let progress = progresses[try campaign.requireID()] ?? CampaignSender.Progress()
            rows.append(
                ListRow(
                    url: SiteURL.campaign(try campaign.requireID()), name: campaign.name,
                    kind: req.t("campaigns.kind.\(campaign.kind.rawValue)"), status: campaign.status.rawValue,
                    statusLabel: req.t("campaigns.status.\(campaign.status.rawValue)"), recipients: progress.total,
                    sent: progress.sent,
                    date: Dates.day(campaign.startedAt ?? campaign.scheduledAt ?? campaign.createdAt, req.language)))
        }
        return try await req.page(
            "app/campaigns", title: req.t("campaigns.title"), ListContent(rows: rows, hasRows: !rows.isEmpty))
    }

    struct CreateForm: Content {
        var series: UUID?
    }

    /// A new draft: a one-off campaign, or the next issue of a newsletter (its segment, its consent).
    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(CreateForm.self)
        let campaign: Campaign
        if let seriesID = form.series {
            guard let series = try await NewsletterSeries.find(seriesID, on: req.db) else { throw Abort(.notFound) }
            let issues = try await Campaign.query(on: req.db).filter(\.$series.$id == seriesID)
                .filter(\.$kind == .newsletter).count()
            campaign = Campaign(
                name: "\(series.name) nº\(issues + 1)", kind: .newsletter, purpose: .newsletter, at: req.now)
            campaign.$series.id = seriesID
            campaign.$segment.id = series.$segment.id
            campaign.scheduledAt = Self.nextSlot(of: series, after: req.now)
        } else {
            campaign = Campaign(name: req.t("campaigns.untitled"), kind: .oneOff, purpose: .newsletter, at: req.now)
        }
        campaign.subjectFR = req.application.translations.text("campaigns.default_subject", .fr)
        campaign.subjectEN = req.application.translations.text("campaigns.default_subject", .en)
        campaign.bodyFR = req.application.translations.text("campaigns.default_body", .fr)
        campaign.bodyEN = req.application.translations.text("campaigns.default_body", .en)
        try await campaign.create(on: req.db)
        return req.redirect(to: SiteURL.campaign(try campaign.requireID()))
    }

    /// The series' next day and hour in its rhythm, in its time zone.
    static func nextSlot(of series: NewsletterSeries, after now: Date) -> Date? {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: series.timeZone) ?? Dates.zone
        var components = DateComponents(hour: series.hour, minute: 0, weekday: series.weekday % 7 + 1)
        if series.cadence == .monthly {
            // The first such weekday of next month.
            guard let month = calendar.dateInterval(of: .month, for: now)?.end else { return nil }
            components.weekdayOrdinal = 1
            return calendar.nextDate(after: month - 1, matching: components, matchingPolicy: .nextTime)
        }
        return calendar.nextDate(after: now, matching: components, matchingPolicy: .nextTime)
    }

    // MARK: - The campaign page

    typealias Preview = TemplatesController.Preview

    struct Target: Encodable {
        var name: String
        var url: String
        var reasons: [String]
        var score: Int
    }

    struct PageContent: Encodable {
        var id: String
        var action: String
        var name: String
        var kind: String
        var status: String
        var statusLabel: String
        var editable: Bool
        var seriesName: String?
        var jobTitle: String?
        var segments: [Choice]
        var purposes: [Choice]
        var purposeFixed: Bool
        var purposeLabel: String
        var subjectFR: String
        var bodyFR: String
        var subjectEN: String
        var bodyEN: String
        var trackOpens: Bool
        var sendDate: String
        var sendTime: String
        var notAfterDate: String
        var notAfterTime: String
        var timeZone: String
        var audience: Int
        var problems: [String]
        var hasProblems: Bool
        var previewFor: [Choice]
        var preview: Preview?
        var fields: [String]
        var progress: CampaignSender.Progress
        var percent: Int
        var report: CampaignReport?
        var canPause: Bool
        var canResume: Bool
        var canCancel: Bool
        var live: Bool
        var targets: [Target]
        var hasTargets: Bool
    }

    private func find(_ req: Request) async throws -> Campaign {
        guard let id = req.uuidParameter("id"), let campaign = try await Campaign.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        return campaign
    }

    @Sendable func show(req: Request) async throws -> Response {
        let campaign = try await find(req)
        try await CampaignSender(req).finishIfDone(campaign)
        return try await render(req, campaign, form: nil, problems: [], preview: nil)
    }

    private func render(
        _ req: Request, _ campaign: Campaign, form: Form?, problems: [String], preview: Preview?,
        status: HTTPStatus = .ok
    ) async throws -> Response {
        let campaignID = try campaign.requireID()
        let company = try await Company.load(on: req.db)
        let zone = TimeZone(identifier: company.timeZone) ?? Dates.zone
        let segments = try await Segment.query(on: req.db).sort(\.$name).all()
        let sender = CampaignSender(req)
        let progress = try await sender.progress(campaignID)
        let audience = (try? await sender.count(campaign)) ?? 0
        let sample = try await sampleRecipients(campaign, req)
        let series = try await campaign.$series.get(on: req.db)
        let targets = try await CampaignTarget.query(on: req.db).filter(\.$campaign.$id == campaignID)
            .with(\.$candidate).sort(\.$score, .descending).limit(200).all()
        func split(_ date: Date?) -> (String, String) {
            guard let date else { return ("", "") }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            return (
                String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!),
                String(format: "%02d:%02d", c.hour!, c.minute!)
            )
        }
        let send = form.map { ($0.send_date ?? "", $0.send_time ?? "") } ?? split(campaign.scheduledAt)
        let notAfter = form.map { ($0.not_after_date ?? "", $0.not_after_time ?? "") } ?? split(campaign.notAfter)
        let selectedSegment = form.map { $0.segment ?? "" } ?? campaign.$segment.id?.lowercasedString ?? ""
        let selectedPurpose = form?.purpose ?? campaign.purpose.rawValue
        return try await req.page(
            "app/campaign", title: campaign.name, status: status,
            PageContent(
                id: campaignID.lowercasedString, action: SiteURL.campaign(campaignID),
                name: form?.name ?? campaign.name, kind: req.t("campaigns.kind.\(campaign.kind.rawValue)"),
                status: campaign.status.rawValue, statusLabel: req.t("campaigns.status.\(campaign.status.rawValue)"),
                editable: campaign.editable, seriesName: series?.name,
                jobTitle: try await campaign.$job.get(on: req.db)?.title,
                segments: [
                    Choice(value: "", label: req.t("campaigns.segment_everyone"), selected: selectedSegment.isEmpty)
                ]
                    + segments.map {
                        Choice(
                            value: $0.id!.lowercasedString, label: $0.name,
                            selected: $0.id!.lowercasedString == selectedSegment)
                    },
                purposes: [ConsentPurpose.newsletter, .jobAlerts, .talentPool].map {
                    Choice(
                        value: $0.rawValue, label: req.t("consent.\($0.rawValue)"),
                        selected: $0.rawValue == selectedPurpose)
                },
                purposeFixed: campaign.kind != .oneOff, purposeLabel: req.t("consent.\(campaign.purpose.rawValue)"),
                subjectFR: form?.subject_fr ?? campaign.subjectFR, bodyFR: form?.body_fr ?? campaign.bodyFR,
                subjectEN: form?.subject_en ?? campaign.subjectEN, bodyEN: form?.body_en ?? campaign.bodyEN,
                trackOpens: form.map { $0.track_opens != nil } ?? campaign.trackOpens,
                sendDate: send.0, sendTime: send.1, notAfterDate: notAfter.0, notAfterTime: notAfter.1,
                timeZone: zone.identifier, audience: audience, problems: problems, hasProblems: !problems.isEmpty,
                previewFor: sample.map {
                    Choice(
                        value: $0.id!.lowercasedString, label: "\($0.fullName) · \($0.email)",
                        selected: $0.id!.lowercasedString == form?.preview_for)
                },
                preview: preview,
                fields: CampaignContent.basePaths.map { "{{\($0)}}" }
                    + segments.map { "{{#segment.\(CampaignContent.key($0))}}…{{/segment.\(CampaignContent.key($0))}}" },
                progress: progress,
                percent: progress.total == 0 ? 0 : 100 * (progress.total - progress.pending) / progress.total,
                report: campaign.editable ? nil : try await CampaignReport.make(campaign, db: req.db, now: req.now),
                canPause: campaign.status == .sending, canResume: campaign.status == .paused,
                canCancel: [.scheduled, .sending, .paused].contains(campaign.status), live: campaign.status == .sending,
                targets: targets.map {
                    Target(
                        name: $0.candidate.fullName, url: SiteURL.candidate($0.$candidate.id),
                        reasons: $0.reasons.split(separator: "\n").map { JobMatch.explain(String($0), req) },
                        score: $0.score)
                }, hasTargets: !targets.isEmpty))
    }

    /// Up to 20 people the campaign would go to now, to preview it as they will read it.
    private func sampleRecipients(_ campaign: Campaign, _ req: Request) async throws -> [Candidate] {
        guard let audience = try? await CampaignSender(req).audience(campaign) else { return [] }
        struct Row: Decodable { var id: UUID }
        let ids = try await req.db.sql().raw(
            "SELECT f.id FROM \(audience.from) WHERE \(audience.condition) ORDER BY f.id LIMIT 20"
        )
        .all(decoding: Row.self).map(\.id)
        return try await Candidate.query(on: req.db).filter(\.$id ~~ ids).sort(\.$lastName).all()
    }

    // MARK: - Saving and sending

    struct Form: Content {
        var intent: String?
        var name: String?
        var segment: String?
        var purpose: String?
        var subject_fr: String?
        var body_fr: String?
        var subject_en: String?
        var body_en: String?
        var track_opens: String?
        var send_date: String?
        var send_time: String?
        var not_after_date: String?
        var not_after_time: String?
        var preview_for: String?
    }

    @Sendable func save(req: Request) async throws -> Response {
        let campaign = try await find(req)
        guard campaign.editable else {
            return req.redirect(
                to: SiteURL.campaign(try campaign.requireID()), flash: "flash.campaign_locked", kind: .error)
        }
        let form = try req.content.decode(Form.self)
        let zone = TimeZone(identifier: try await Company.load(on: req.db).timeZone) ?? Dates.zone
        var problems: [String] = []
        let name = (form.name ?? "").trimmed
        if name.isEmpty || name.count > 160 { problems.append(req.t("campaigns.error_name")) }
        campaign.name = String(name.prefix(160))
        if let segment = form.segment, !segment.isEmpty {
            guard let id = UUID(uuidString: segment), try await Segment.find(id, on: req.db) != nil else {
                throw Abort(.unprocessableEntity, reason: req.t("error.choose"))
            }
            campaign.$segment.id = id
        } else {
            campaign.$segment.id = nil
        }
        if campaign.kind == .oneOff {
            guard let purpose = ConsentPurpose(rawValue: form.purpose ?? ""),
                [.newsletter, .jobAlerts, .talentPool].contains(purpose)
            else { throw Abort(.unprocessableEntity, reason: req.t("error.choose")) }
            campaign.purpose = purpose
        }
        campaign.subjectFR = (form.subject_fr ?? "").trimmed
        campaign.bodyFR = form.body_fr ?? ""
        campaign.subjectEN = (form.subject_en ?? "").trimmed
        campaign.bodyEN = form.body_en ?? ""
        campaign.trackOpens = form.track_opens != nil
        let schema = CampaignContent.schema(segments: try await Segment.query(on: req.db).all())
        for language in Language.allCases {
            let template = MessageTemplate(subject: campaign.subject(language), body: campaign.body(language))
            problems += template.problems(against: schema).map { "\(language.rawValue.uppercased()) — \($0)" }
            if campaign.body(language).trimmed.isEmpty {
                problems.append("\(language.rawValue.uppercased()) — \(req.t("campaigns.error_body"))")
            }
        }
        func when(_ date: String?, _ time: String?, _ label: String) -> Date? {
            guard let date, !date.isEmpty else { return nil }
            guard let parsed = InterviewController.parse(date: date, time: time ?? "", in: zone) else {
                problems.append(req.t(label))
                return nil
            }
            return parsed
        }
        campaign.scheduledAt = when(form.send_date, form.send_time, "campaigns.error_send_at")
        campaign.notAfter = when(form.not_after_date, form.not_after_time, "campaigns.error_not_after")
        if let notAfter = campaign.notAfter, notAfter <= max(campaign.scheduledAt ?? req.now, req.now) {
            problems.append(req.t("campaigns.error_not_after_order"))
        }
        let intent = form.intent ?? "save"
        if intent == "schedule" {
            if campaign.scheduledAt == nil { problems.append(req.t("campaigns.error_send_at")) }
            if let at = campaign.scheduledAt, at <= req.now { problems.append(req.t("campaigns.error_send_past")) }
        }
        if ["schedule", "send"].contains(intent), problems.isEmpty, try await CampaignSender(req).count(campaign) == 0 {
            problems.append(req.t("campaigns.error_nobody"))
        }
        if intent == "preview" || intent == "test" || !problems.isEmpty {
            var preview: Preview?
            if problems.isEmpty, let person = try await previewPerson(form.preview_for, campaign, req) {
                let rendered = try await CampaignSender(req).render(campaign, for: person)
                preview = Preview(
                    subject: rendered.subject,
                    html: CandidateMail.frame(
                        rendered.html, subject: rendered.subject,
                        brand: try await req.application.brand(on: req.db),
                        publicURL: req.application.config.publicURL),
                    text: rendered.text)
                if intent == "test" {
                    try await testSend(rendered, req)
                    return req.redirect(
                        to: SiteURL.campaign(try campaign.requireID()), flash: "flash.campaign_test_sent")
                }
            }
            if req.headers.first(name: "X-Preview") != nil {
                return try await req.previewFragment(preview, problems: problems)
            }
            return try await render(
                req, campaign, form: form, problems: problems, preview: preview,
                status: problems.isEmpty ? .ok : .unprocessableEntity)
        }
        switch intent {
        case "schedule":
            campaign.status = .scheduled
        case "send":
            campaign.status = .scheduled
            campaign.scheduledAt = req.now
        default:
            break
        }
        try await campaign.save(on: req.db)
        if intent == "send" {
            // Queued at once in the background; the scheduler finishes it if this process stops half-way.
            let app = req.application
            Task { _ = try? await CampaignSender.runDue(app: app, now: app.clock.now()) }
        }
        let flash =
            ["schedule": "flash.campaign_scheduled", "send": "flash.campaign_sending"][intent] ?? "flash.campaign_saved"
        return req.redirect(to: SiteURL.campaign(try campaign.requireID()), flash: flash)
    }

    /// The chosen recipient, else the first the campaign would reach, else anyone (a draft before consents exist).
    private func previewPerson(_ chosen: String?, _ campaign: Campaign, _ req: Request) async throws -> Candidate? {
        if let chosen, let id = UUID(uuidString: chosen), let person = try await Candidate.find(id, on: req.db) {
            return person
        }
        if let first = try await sampleRecipients(campaign, req).first { return first }
        return try await Candidate.query(on: req.db).filter(\.$mergedInto.$id == nil).filter(\.$email != "").filter(
            \.$erasedAt == nil
        ).first()
    }

    /// The preview goes to the signed-in recruiter, marked as a test, never counted in the campaign.
    private func testSend(_ rendered: MessageTemplate.Rendered, _ req: Request) async throws {
        let user = try req.requireUser()
        let company = try await Company.load(on: req.db)
        let message = MailMessage(
            from: try MailAddress(req.application.config.mail.from.address, name: company.name),
            to: [try MailAddress(user.email, name: user.name)], subject: "[Test] " + rendered.subject,
            text: rendered.text,
            html: CandidateMail.frame(
                rendered.html, subject: rendered.subject, brand: Brand(company),
                publicURL: req.application.config.publicURL))
        try await Outbox.enqueue(
            message, kind: "campaign_test", dedupeKey: "campaign_test:\(UUID())", transactional: true, candidateID: nil,
            on: req.db, now: req.now)
    }

    // MARK: - Controls

    @Sendable func pause(req: Request) async throws -> Response {
        let campaign = try await find(req)
        try await CampaignSender(req).pause(campaign)
        return req.redirect(to: SiteURL.campaign(try campaign.requireID()), flash: "flash.campaign_paused")
    }

    @Sendable func resume(req: Request) async throws -> Response {
        let campaign = try await find(req)
        try await CampaignSender(req).resume(campaign)
        return req.redirect(to: SiteURL.campaign(try campaign.requireID()), flash: "flash.campaign_resumed")
    }

    @Sendable func cancel(req: Request) async throws -> Response {
        let campaign = try await find(req)
        try await CampaignSender(req).cancel(campaign)
        return req.redirect(to: SiteURL.campaign(try campaign.requireID()), flash: "flash.campaign_cancelled")
    }

    /// The live figures of a sending campaign, for the page to refresh without reloading.
    @Sendable func progress(req: Request) async throws -> CampaignSender.Progress {
        let campaign = try await find(req)
        return try await CampaignSender(req).progress(try campaign.requireID())
    }
}

/// "New job matching your profile": the pool people a job could interest, why, and a drafted campaign to them.
struct JobMatchController {
    struct Row: Encodable {
        var id: String
        var name: String
        var url: String
        var score: Int
        var reasons: [String]
    }

    struct Content: Encodable {
        var job: String
        var action: String
        var board: String
        var rows: [Row]
        var hasRows: Bool
        var terms: String
    }

    private func job(_ req: Request) async throws -> Job {
        guard let id = req.uuidParameter("id"), let job = try await Job.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        return job
    }

    @Sendable func show(req: Request) async throws -> Response {
        let job = try await job(req)
        let matches = try await JobMatch.propose(for: job, on: req.db, now: req.now)
        let people = Dictionary(
            try await Candidate.query(on: req.db).filter(\.$id ~~ matches.map(\.candidateID)).all().map {
                ($0.id!, $0)
            },
            uniquingKeysWith: { first, _ in first })
        let rows = matches.compactMap { match -> Row? in
            guard let person = people[match.candidateID] else { return nil }
            return Row(
                id: match.candidateID.lowercasedString, name: person.fullName,
                url: SiteURL.candidate(match.candidateID), score: match.score,
                reasons: match.reasons.map { JobMatch.explain($0, req) })
        }
        return try await req.page(
            "app/job_match", title: req.t("match.title").replacingOccurrences(of: "%@", with: job.title),
            Content(
                job: job.title, action: SiteURL.jobMatch(try job.requireID()),
                board: SiteURL.board(try job.requireID()),
                rows: rows, hasRows: !rows.isEmpty, terms: JobMatch.terms(of: job).joined(separator: ", ")))
    }

    /// Drafts the campaign to the people ticked (only among those the job matches now).
    @Sendable func draft(req: Request) async throws -> Response {
        let job = try await job(req)
        let form = try req.content.decode([String: String].self)
        let matches = try await JobMatch.propose(for: job, on: req.db, now: req.now)
        let picked = matches.filter { form["pick_\($0.candidateID.lowercasedString)"] != nil }
        guard !picked.isEmpty else {
            return req.redirect(to: SiteURL.jobMatch(try job.requireID()), flash: "flash.match_none", kind: .error)
        }
        let translations = req.application.translations
        let campaign = Campaign(
            name: req.t("match.campaign_name").replacingOccurrences(of: "%@", with: job.title), kind: .jobMatch,
            purpose: .talentPool,
            at: req.now)
        campaign.$job.id = job.id
        campaign.subjectFR = translations.text("match.subject", .fr)
        campaign.subjectEN = translations.text("match.subject", .en)
        campaign.bodyFR = translations.text("match.body", .fr)
        campaign.bodyEN = translations.text("match.body", .en)
        try await req.db.transaction { db in
            try await campaign.create(on: db)
            try await picked.map {
                CampaignTarget(
                    campaignID: campaign.id!, candidateID: $0.candidateID, score: $0.score, reasons: $0.reasons)
            }.create(on: db)
        }
        return req.redirect(to: SiteURL.campaign(try campaign.requireID()), flash: "flash.match_drafted")
    }
}

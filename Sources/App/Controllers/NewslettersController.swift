import Fluent
import Vapor
import VivierCore

/// Newsletter series: a name, a rhythm (every two weeks or monthly, day and hour in a time zone), a default segment,
/// whether subscribers may take a monthly digest instead; and the issues written so far.
struct NewslettersController {
    struct Row: Encodable {
        var url: String
        var name: String
        var rhythm: String
        var subscribers: Int
        var issues: Int
    }

    struct Issue: Encodable {
        var url: String
        var name: String
        var statusLabel: String
        var status: String
        var date: String
        var sent: Int
    }

    struct Content: Encodable {
        var rows: [Row]
        var hasRows: Bool
        var action: String
        var id: String?
        var values: [String: String]
        var errors: [String: String]
        var cadences: [Choice]
        var weekdays: [Choice]
        var segments: [Choice]
        var timeZones: [Choice]
        var offersDigest: Bool
        var issues: [Issue]
        var hasIssues: Bool
    }

    @Sendable func list(req: Request) async throws -> Response {
        try await render(req, series: nil, values: ["hour": "10", "weekday": "2", "cadence": "biweekly"], errors: [:])
    }

    @Sendable func show(req: Request) async throws -> Response {
        let series = try await find(req)
        return try await render(req, series: series, values: values(of: series), errors: [:])
    }

    private func find(_ req: Request) async throws -> NewsletterSeries {
        guard let id = req.uuidParameter("id"), let series = try await NewsletterSeries.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        return series
    }

    private func values(of series: NewsletterSeries) -> [String: String] {
        [
            "name": series.name, "summary": series.summary, "cadence": series.cadence.rawValue,
            "weekday": String(series.weekday), "hour": String(series.hour), "time_zone": series.timeZone,
            "segment": series.$segment.id?.lowercasedString ?? "",
            "offers_digest": series.offersDigest ? "on" : "",
        ]
    }

    private func render(
        _ req: Request, series: NewsletterSeries?, values: [String: String], errors: [String: String],
        status: HTTPStatus = .ok
    ) async throws -> Response {
        let all = try await NewsletterSeries.query(on: req.db).sort(\.$name).all()
        let query = SegmentQuery(db: req.db, now: req.now, lanes: req.application.sqliteLanes)
        var rows: [Row] = []
        for item in all {
            let id = try item.requireID()
            rows.append(
                Row(
                    url: SiteURL.newsletter(id), name: item.name,
                    rhythm: req.t("newsletters.cadence.\(item.cadence.rawValue)"),
                    subscribers: (try? await query.count(SegmentDefinition(), requiring: (.newsletter, id))) ?? 0,
                    issues: try await Campaign.query(on: req.db).filter(\.$series.$id == id).count()))
        }
        var issues: [Issue] = []
        if let id = series?.id {
            let campaigns = try await Campaign.query(on: req.db).filter(\.$series.$id == id)
                .sort(\.$createdAt, .descending).all()
            let progress = try await CampaignSender.progress(of: campaigns.compactMap(\.id), on: req.db)
            for campaign in campaigns {
                issues.append(
                    Issue(
                        url: SiteURL.campaign(try campaign.requireID()), name: campaign.name,
                        statusLabel: req.t("campaigns.status.\(campaign.status.rawValue)"),
                        status: campaign.status.rawValue,
                        date: Dates.day(campaign.startedAt ?? campaign.scheduledAt ?? campaign.createdAt, req.language),
                        sent: progress[try campaign.requireID()]?.sent ?? 0))
            }
        }
        let segments = try await Segment.query(on: req.db).sort(\.$name).all()
        return try await req.page(
            series == nil ? "app/newsletters" : "app/newsletter", title: series?.name ?? req.t("newsletters.title"),
            status: status,
            Content(
                rows: rows, hasRows: !rows.isEmpty,
                action: series.flatMap { $0.id.map(SiteURL.newsletter) } ?? SiteURL.newsletters,
                id: series?.id?.lowercasedString, values: values, errors: errors,
                cadences: NewsletterSeries.Cadence.allCases.map {
                    Choice(
                        value: $0.rawValue, label: req.t("newsletters.cadence.\($0.rawValue)"),
                        selected: values["cadence"] == $0.rawValue)
                },
                weekdays: (1...7).map {
                    Choice(
                        value: String($0), label: req.t("newsletters.weekday.\($0)"),
                        selected: values["weekday"] == String($0))
                },
                segments: [
                    Choice(
                        value: "", label: req.t("campaigns.segment_everyone"),
                        selected: (values["segment"] ?? "").isEmpty)
                ]
                    + segments.map {
                        Choice(
                            value: $0.id!.lowercasedString, label: $0.name,
                            selected: values["segment"] == $0.id!.lowercasedString)
                    },
                timeZones: InterviewController.timeZones.map {
                    Choice(value: $0, label: $0, selected: (values["time_zone"] ?? "Europe/Paris") == $0)
                },
                offersDigest: values["offers_digest"] == "on", issues: issues, hasIssues: !issues.isEmpty))
    }

    struct Form: Vapor.Content {
        var name: String?
        var summary: String?
        var cadence: String?
        var weekday: String?
        var hour: String?
        var time_zone: String?
        var segment: String?
        var offers_digest: String?
    }

    @Sendable func create(req: Request) async throws -> Response {
        try await save(req, series: nil)
    }

    @Sendable func update(req: Request) async throws -> Response {
        try await save(req, series: try await find(req))
    }

    private func save(_ req: Request, series: NewsletterSeries?) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let values = [
            "name": (form.name ?? "").trimmed, "summary": (form.summary ?? "").trimmed, "cadence": form.cadence ?? "",
            "weekday": form.weekday ?? "", "hour": form.hour ?? "", "time_zone": form.time_zone ?? "",
            "segment": form.segment ?? "", "offers_digest": form.offers_digest == nil ? "" : "on",
        ]
        var errors: [String: String] = [:]
        if values["name"]!.isEmpty || values["name"]!.count > 120 { errors["name"] = req.t("error.required") }
        if values["summary"]!.count > 500 { errors["summary"] = req.t("newsletters.error_summary") }
        let cadence = NewsletterSeries.Cadence(rawValue: values["cadence"]!)
        if cadence == nil { errors["cadence"] = req.t("error.choose") }
        let weekday = Int(values["weekday"]!).flatMap { (1...7).contains($0) ? $0 : nil }
        if weekday == nil { errors["weekday"] = req.t("error.choose") }
        let hour = Int(values["hour"]!).flatMap { (0...23).contains($0) ? $0 : nil }
        if hour == nil { errors["hour"] = req.t("newsletters.error_hour") }
        if !InterviewController.timeZones.contains(values["time_zone"]!) { errors["time_zone"] = req.t("error.choose") }
        var segmentID: UUID?
        if !values["segment"]!.isEmpty {
            segmentID = UUID(uuidString: values["segment"]!)
            if try await segmentID.asyncMap({ try await Segment.find($0, on: req.db) }) == nil {
                errors["segment"] = req.t("error.choose")
            }
        }
        guard errors.isEmpty, let cadence, let weekday, let hour else {
            return try await render(req, series: series, values: values, errors: errors, status: .unprocessableEntity)
        }
        let saved =
            series
            ?? NewsletterSeries(
                name: "", summary: "", cadence: cadence, weekday: weekday, hour: hour, timeZone: "",
                offersDigest: false,
                segmentID: nil, at: req.now)
        saved.name = values["name"]!
        saved.summary = values["summary"]!
        saved.cadence = cadence
        saved.weekday = weekday
        saved.hour = hour
        saved.timeZone = values["time_zone"]!
        saved.offersDigest = values["offers_digest"] == "on"
        saved.$segment.id = segmentID
        try await saved.save(on: req.db)
        return req.redirect(to: SiteURL.newsletter(try saved.requireID()), flash: "flash.newsletter_saved")
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

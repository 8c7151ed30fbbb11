import Fluent
import SQLKit
import Vapor

/// What a campaign did: per recipient state from the outbox, and what people did from the campaign's events.
/// Opens are what a pixel can see: privacy proxies (Apple Mail) fetch it for everyone, so they are inflated.
struct CampaignReport: Encodable, Sendable {
    var recipients = 0
    var delivered = 0
    var bounced = 0
    var failed = 0
    var suppressed = 0
    var cancelled = 0
    var pending = 0
    var uniqueClicks = 0
    var clicks = 0
    var opens = 0
    var unsubscribes = 0
    var complaints = 0
    var links: [Link] = []
    /// The campaign's recipients who are in a saved segment now.
    var segments: [Indicators.CampaignLine] = []

    struct Link: Encodable, Sendable {
        var position: Int
        var url: String
        var uniqueClicks: Int
        var clicks: Int
    }

    static func make(_ campaign: Campaign, db: any Database, now: Date) async throws -> CampaignReport {
        let campaignID = try campaign.requireID()
        let sql = db.sql()
        var report = CampaignReport()
        let progress = try await CampaignSender.progress(campaignID, on: db)
        struct Totals: Decodable {
            var recipients: Int
            var bounced: Int?
        }
        let totals = try await sql.raw(
            """
            SELECT COUNT(*) AS recipients, SUM(CASE WHEN last_reply LIKE 'bounce%' THEN 1 ELSE 0 END) AS bounced
            FROM outbox WHERE campaign_id = \(bind: campaignID)
            """
        ).first(decoding: Totals.self)
        report.recipients = totals?.recipients ?? 0
        report.bounced = totals?.bounced ?? 0
        report.delivered = progress.sent
        report.failed = max(progress.failed - report.bounced, 0)
        report.suppressed = progress.suppressed
        report.cancelled = progress.cancelled
        report.pending = progress.pending

        struct Event: Decodable {
            var kind: String
            var people: Int
            var total: Int
        }
        for row in try await sql.raw(
            """
            SELECT kind, COUNT(DISTINCT outbox_id) AS people, COUNT(*) AS total FROM campaign_events
            WHERE campaign_id = \(bind: campaignID) GROUP BY kind
            """
        ).all(decoding: Event.self) {
            switch CampaignEvent.Kind(rawValue: row.kind) {
            case .click:
                report.uniqueClicks = row.people
                report.clicks = row.total
            case .open: report.opens = row.people
            case .unsubscribe: report.unsubscribes = row.people
            case .complaint: report.complaints = row.people
            case nil: break
            }
        }
        struct LinkRow: Decodable {
            var position: Int
            var url: String
            var people: Int
            var total: Int
        }
        report.links = try await sql.raw(
            """
            SELECT l.position, l.url, COUNT(DISTINCT e.outbox_id) AS people, COUNT(e.id) AS total
            FROM campaign_links l LEFT JOIN campaign_events e
              ON e.campaign_id = l.campaign_id AND e.kind = 'click' AND e.link_position = l.position
            WHERE l.campaign_id = \(bind: campaignID) GROUP BY l.position, l.url ORDER BY l.position
            """
        ).all(decoding: LinkRow.self).map {
            Link(position: $0.position, url: $0.url, uniqueClicks: $0.people, clicks: $0.total)
        }

        report.segments = try await Indicators.campaignsBySegment(
            messages: "o.campaign_id = \(bind: campaignID)", db: db, now: now)
        return report
    }
}

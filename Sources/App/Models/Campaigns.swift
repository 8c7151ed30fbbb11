import Fluent
import Vapor
import VivierCore

/// A person's current consent for one purpose (and newsletter series: `""` for all of them), derived from the
/// ledger and rewritten with each event, so that segment counts over a million people read one index instead of
/// replaying every history. `ConsentLedger.refresh` rebuilds it from the events.
final class ConsentState: Model, @unchecked Sendable {
    static let schema = "consent_states"

    @ID(key: .id) var id: UUID?
    @Parent(key: "candidate_id") var candidate: Candidate
    @Enum(key: "purpose") var purpose: ConsentPurpose
    @Field(key: "series") var series: String
    @Enum(key: "action") var action: ConsentAction
    @Field(key: "at") var at: Date

    init() {}

    init(candidateID: UUID, purpose: ConsentPurpose, series: String, action: ConsentAction, at: Date) {
        self.$candidate.id = candidateID
        self.purpose = purpose
        self.series = series
        self.action = action
        self.at = at
    }
}

/// A saved filter over people, stored as data (`SegmentDefinition` as JSON), never as SQL.
final class Segment: Model, @unchecked Sendable {
    static let schema = "segments"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    @Field(key: "name") var name: String
    @Field(key: "definition") var definitionJSON: String

    init() {}

    init(name: String, definition: SegmentDefinition, at: Date) throws {
        self.name = name
        self.definitionJSON = try definition.json()
        self.createdAt = at
    }

    var definition: SegmentDefinition {
        (try? JSONDecoder().decode(SegmentDefinition.self, from: Data(definitionJSON.utf8))) ?? SegmentDefinition()
    }
}

/// A newsletter with a rhythm ("Les nouvelles de l'équipe Tech", every two weeks on Tuesday at 10:00 Paris time);
/// its issues are campaigns. People consent to it alone or to every newsletter at once.
final class NewsletterSeries: Model, @unchecked Sendable {
    static let schema = "newsletter_series"

    enum Cadence: String, Codable, CaseIterable, Sendable {
        case biweekly, monthly
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "name") var name: String
    @Field(key: "description") var summary: String
    @Enum(key: "cadence") var cadence: Cadence
    /// 1 = Monday … 7 = Sunday (ISO 8601).
    @Field(key: "weekday") var weekday: Int
    @Field(key: "hour") var hour: Int
    @Field(key: "time_zone") var timeZone: String
    /// Whether subscribers may choose a monthly digest of the issues instead of each issue.
    @Field(key: "offers_digest") var offersDigest: Bool
    @OptionalParent(key: "segment_id") var segment: Segment?
    /// The last month (`2026-11`) whose digest went out.
    @OptionalField(key: "last_digest_month") var lastDigestMonth: String?

    init() {}

    init(
        name: String, summary: String, cadence: Cadence, weekday: Int, hour: Int, timeZone: String,
        offersDigest: Bool, segmentID: UUID?, at: Date
    ) {
        self.name = name
        self.summary = summary
        self.cadence = cadence
        self.weekday = weekday
        self.hour = hour
        self.timeZone = timeZone
        self.offersDigest = offersDigest
        self.$segment.id = segmentID
        self.createdAt = at
    }
}

/// One sending to many: a newsletter issue, a one-off message, or a job opening proposed to the pool people it
/// matches. What each recipient got lives in the outbox, one row each.
final class Campaign: Model, @unchecked Sendable {
    static let schema = "campaigns"

    enum Kind: String, Codable, CaseIterable, Sendable {
        case newsletter
        case oneOff = "one_off"
        case jobMatch = "job_match"
        /// The monthly digest of a series' issues, for subscribers who prefer it.
        case digest
    }

    enum Status: String, Codable, CaseIterable, Sendable {
        case draft, scheduled, sending, paused, cancelled, finished
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    @Field(key: "name") var name: String
    @Enum(key: "kind") var kind: Kind
    /// The consent every recipient must hold, checked when the campaign is queued and again when each message goes.
    @Enum(key: "purpose") var purpose: ConsentPurpose
    @OptionalParent(key: "series_id") var series: NewsletterSeries?
    @OptionalParent(key: "job_id") var job: Job?
    @OptionalParent(key: "segment_id") var segment: Segment?
    @Field(key: "subject_fr") var subjectFR: String
    @Field(key: "body_fr") var bodyFR: String
    @Field(key: "subject_en") var subjectEN: String
    @Field(key: "body_en") var bodyEN: String
    @Field(key: "track_opens") var trackOpens: Bool
    @Enum(key: "status") var status: Status
    @OptionalField(key: "scheduled_at") var scheduledAt: Date?
    /// Nothing of this campaign leaves after this moment ("do not send after").
    @OptionalField(key: "not_after") var notAfter: Date?
    @OptionalField(key: "started_at") var startedAt: Date?
    /// Set once every recipient has their row in the outbox; a queueing interrupted before resumes where it was.
    @OptionalField(key: "enqueued_at") var enqueuedAt: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?
    @Field(key: "recipients") var recipients: Int

    init() {}

    init(name: String, kind: Kind, purpose: ConsentPurpose, at: Date) {
        self.name = name
        self.kind = kind
        self.purpose = purpose
        self.subjectFR = ""
        self.bodyFR = ""
        self.subjectEN = ""
        self.bodyEN = ""
        self.trackOpens = false
        self.status = .draft
        self.recipients = 0
        self.createdAt = at
    }

    func subject(_ language: Language) -> String { language == .fr ? subjectFR : subjectEN }
    func body(_ language: Language) -> String { language == .fr ? bodyFR : bodyEN }

    /// The body as it goes out: the author's, ending with the person's preference and unsubscribe links where the
    /// author did not place them, so that no message of a campaign lacks either.
    func bodyAsSent(_ language: Language) -> String {
        let body = body(language)
        let links =
            language == .fr
            ? [("preferences_url", "Mes préférences"), ("unsubscribe_url", "Me désinscrire")]
            : [("preferences_url", "My preferences"), ("unsubscribe_url", "Unsubscribe")]
        let missing = links.filter { !body.contains($0.0) }.map { "[\($0.1)]({{\($0.0)}})" }
        return missing.isEmpty ? body : body + "\n\n" + missing.joined(separator: " · ") + "\n"
    }

    var editable: Bool { status == .draft || status == .scheduled }
}

/// A person chosen for a campaign by hand or by the job match, with why they matched.
final class CampaignTarget: Model, @unchecked Sendable {
    static let schema = "campaign_targets"

    @ID(key: .id) var id: UUID?
    @Parent(key: "campaign_id") var campaign: Campaign
    @Parent(key: "candidate_id") var candidate: Candidate
    @Field(key: "score") var score: Int
    /// What matched, one reason per line ("tag: swift", "applied to Data before").
    @Field(key: "reasons") var reasons: String

    init() {}

    init(campaignID: UUID, candidateID: UUID, score: Int, reasons: [String]) {
        self.$campaign.id = campaignID
        self.$candidate.id = candidateID
        self.score = score
        self.reasons = reasons.joined(separator: "\n")
    }
}

/// A link of a campaign, numbered in the order of the body: clicks name the number, reports show the address.
final class CampaignLink: Model, @unchecked Sendable {
    static let schema = "campaign_links"

    @ID(key: .id) var id: UUID?
    @Parent(key: "campaign_id") var campaign: Campaign
    @Field(key: "position") var position: Int
    @Field(key: "url") var url: String

    init() {}

    init(campaignID: UUID, position: Int, url: String) {
        self.$campaign.id = campaignID
        self.position = position
        self.url = url
    }
}

/// What a recipient did with a campaign message: opened it (as far as a pixel can tell), clicked a link,
/// unsubscribed, complained.
final class CampaignEvent: Model, @unchecked Sendable {
    static let schema = "campaign_events"

    enum Kind: String, Codable, CaseIterable, Sendable {
        case open, click, unsubscribe, complaint
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "at") var at: Date
    @Parent(key: "campaign_id") var campaign: Campaign
    @Field(key: "outbox_id") var outboxID: UUID
    @OptionalParent(key: "candidate_id") var candidate: Candidate?
    @Enum(key: "kind") var kind: Kind
    @OptionalField(key: "link_position") var linkPosition: Int?

    init() {}

    init(campaignID: UUID, outboxID: UUID, candidateID: UUID?, kind: Kind, linkPosition: Int? = nil, at: Date) {
        self.$campaign.id = campaignID
        self.outboxID = outboxID
        self.$candidate.id = candidateID
        self.kind = kind
        self.linkPosition = linkPosition
        self.at = at
    }
}

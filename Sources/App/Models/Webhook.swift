import Fluent
import Vapor

/// An address another system gave to hear about what happens in Vivier. The signing secret is kept sealed with the
/// installation secret (it must be read back to sign), shown to the admin when the webhook is created.
final class Webhook: Model, @unchecked Sendable {
    static let schema = "webhooks"

    enum Event: String, Codable, CaseIterable, Sendable {
        case applicationCreated = "application.created"
        case stageChanged = "application.stage_changed"
        case rejected = "application.rejected"
        case hired = "application.hired"
        case consentChanged = "consent.changed"
        case unsubscribed = "candidate.unsubscribed"
        /// Sent by the "send a test" button only.
        case ping
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @OptionalParent(key: "created_by_id") var createdBy: User?
    @Field(key: "url") var url: String
    @Field(key: "description") var summary: String
    /// Comma-separated `Event` values.
    @Field(key: "events") var eventList: String
    @Field(key: "secret") var sealedSecret: String
    @Field(key: "active") var active: Bool

    init() {}

    init(url: String, summary: String, events: [Event], sealedSecret: String, createdBy: UUID?, now: Date) {
        self.url = url
        self.summary = summary
        self.eventList = events.map(\.rawValue).joined(separator: ",")
        self.sealedSecret = sealedSecret
        self.$createdBy.id = createdBy
        self.active = true
        self.createdAt = now
    }

    var events: [Event] { eventList.split(separator: ",").compactMap { Event(rawValue: String($0)) } }
}

/// One event for one webhook, queued in the same transaction as the change it reports, then posted (and retried
/// with backoff) by the worker.
final class WebhookDelivery: Model, @unchecked Sendable {
    static let schema = "webhook_deliveries"

    enum Status: String, Codable, Sendable {
        case pending, delivered, failed
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "webhook_id") var webhook: Webhook
    @Field(key: "event") var event: String
    @Field(key: "payload") var payload: String
    @Enum(key: "status") var status: Status
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    @OptionalField(key: "lease_until") var leaseUntil: Date?
    @OptionalField(key: "last_status") var lastStatus: Int?
    @OptionalField(key: "last_error") var lastError: String?
    @OptionalField(key: "delivered_at") var deliveredAt: Date?

    init() {}

    init(webhookID: UUID, event: String, payload: String, now: Date) {
        self.$webhook.id = webhookID
        self.event = event
        self.payload = payload
        self.status = .pending
        self.attempts = 0
        self.nextAttemptAt = now
        self.createdAt = now
    }
}

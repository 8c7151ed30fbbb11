import Fluent
import Vapor
import VivierCore

/// One email to send, written in the same transaction as the event that causes it. The worker moves it through
/// `pending → claimed (PostgreSQL) → in_flight → sent | retry | failed | in_doubt | suppressed` (or `cancelled` by
/// an admin). Its rendered body is an `OutboxBody` of the same id.
final class OutboxMessage: Model, @unchecked Sendable {
    static let schema = "outbox"

    enum Status: String, Codable, CaseIterable, Sendable {
        case pending, claimed
        case inFlight = "in_flight"
        case sent, retry, failed
        case inDoubt = "in_doubt"
        case suppressed, cancelled
        /// A paused campaign's message: not claimed until the campaign resumes.
        case held
    }

    @ID(key: .id) var id: UUID?
    /// Set from the injected clock: the follow-up timers compare it with the clock.
    @OptionalField(key: "created_at") var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    /// What the message is for (`acknowledgement`, `campaign`, `test`...), shown in the queue.
    @Field(key: "kind") var kind: String
    /// One logical message, one row: `UNIQUE` forbids a second acknowledgement for an application, a second
    /// campaign message for a person.
    @Field(key: "dedupe_key") var dedupeKey: String
    /// Transactional messages are re-sent when in doubt after a crash; campaign messages are not.
    @Field(key: "transactional") var transactional: Bool
    @OptionalParent(key: "candidate_id") var candidate: Candidate?
    @Field(key: "sender") var sender: String
    @Field(key: "recipient") var recipient: String
    @Field(key: "subject") var subject: String
    @Field(key: "needs_smtputf8") var needsSMTPUTF8: Bool

    @Enum(key: "status") var status: Status
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    @OptionalField(key: "lease_until") var leaseUntil: Date?
    @OptionalField(key: "claimed_by") var claimedBy: String?
    @OptionalField(key: "last_reply") var lastReply: String?
    @OptionalField(key: "sent_at") var sentAt: Date?
    /// The template version the message was written from (`acknowledgement/fr/v3`, `…/default`).
    @OptionalField(key: "template") var template: String?
    @OptionalField(key: "application_id") var applicationID: UUID?
    @OptionalField(key: "campaign_id") var campaignID: UUID?
    /// The consent a bulk message needs, checked again when it leaves: a withdrawal since it was queued stops it.
    @OptionalEnum(key: "consent_purpose") var consentPurpose: ConsentPurpose?
    @OptionalField(key: "consent_series") var consentSeries: UUID?
    /// The campaign's "do not send after": past it, the message is cancelled instead of sent.
    @OptionalField(key: "not_after") var notAfter: Date?

    init() {}

    init(
        kind: String, dedupeKey: String, transactional: Bool, candidateID: UUID?, sender: String, recipient: String,
        subject: String, needsSMTPUTF8: Bool, now: Date
    ) {
        self.createdAt = now
        self.kind = kind
        self.dedupeKey = dedupeKey
        self.transactional = transactional
        self.$candidate.id = candidateID
        self.sender = sender
        self.recipient = recipient
        self.subject = subject
        self.needsSMTPUTF8 = needsSMTPUTF8
        self.status = .pending
        self.attempts = 0
        self.nextAttemptAt = now
    }
}

extension OutboxMessage {
    /// Writes the row and its body, in this order (the body refers to the row).
    func create(body: String, on db: any Database) async throws {
        try await create(on: db)
        try await OutboxBody(id: requireID(), message: body).create(on: db)
    }
}

/// The rendered message (RFC 5322, CRLF) of an outbox row, signed with DKIM at send time. Kept apart from the row:
/// the worker changes a row's status two or three times, and a row of a few hundred bytes is rewritten cheaply
/// where one carrying its 4 KB body was rewritten whole each time.
final class OutboxBody: Model, @unchecked Sendable {
    static let schema = "outbox_bodies"

    @ID(key: .id) var id: UUID?
    @Field(key: "message") var message: String

    init() {}

    init(id: UUID, message: String) {
        self.id = id
        self.message = message
    }
}

/// Addresses never to mail again (unsubscribed from everything, hard-bounced, erased): checked at send time.
/// Only a SHA-256 of the normalised address is kept, so erasure leaves nothing readable behind.
final class Suppression: Model, @unchecked Sendable {
    static let schema = "suppressions"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "address_hash") var addressHash: String
    @Field(key: "reason") var reason: String

    init() {}

    init(address: String, reason: String, at: Date) {
        self.addressHash = Suppression.hash(address)
        self.reason = reason
        self.createdAt = at
    }

    static func hash(_ address: String) -> String {
        // Addresses are stored trimmed: Foundation's trimming, asked of every recipient, showed in queueing's profile.
        let padded = address.first?.isWhitespace == true || address.last?.isWhitespace == true
        return Tokens.hash((padded ? address.trimmingCharacters(in: .whitespaces) : address).lowercased())
    }

    /// Reasons that stop marketing only: the person still receives what concerns their applications.
    static let unsubscribeReason = "unsubscribe"
    var marketingOnly: Bool { reason.hasPrefix(Self.unsubscribeReason) }

    /// The suppressed addresses of a batch, by what they stop.
    struct Blocked: Sendable {
        var all: Set<String>
        var marketing: Set<String>

        func blocks(_ hash: String, transactional: Bool) -> Bool {
            all.contains(hash) || (!transactional && marketing.contains(hash))
        }
    }
}

import Fluent
import SQLKit
import Vapor
import VivierMail

/// Putting messages in the outbox. Call inside the transaction that records their cause, so that a message exists
/// if and only if its cause was committed.
enum Outbox {
    /// Queues `message` once per `dedupeKey`; a second call with the same key leaves the first message alone and
    /// returns false.
    ///
    /// `sendAt` holds the message until then (business hours).
    /// With `tracking` (the installation secret), bounces come back to `bounce+TOKEN@` (VERP) and replies to
    /// `reply+TOKEN@` of the sender's domain, both naming this message: `vivier ingest-mail` files them.
    @discardableResult
    static func enqueue(
        _ message: MailMessage, kind: String, dedupeKey: String, transactional: Bool, candidateID: UUID?,
        applicationID: UUID? = nil, template: String? = nil, tracking secret: [UInt8]? = nil, sendAt: Date? = nil,
        on db: any Database, now: Date
    ) async throws -> Bool {
        if try await OutboxMessage.query(on: db).filter(\.$dedupeKey == dedupeKey).count() > 0 { return false }
        let id = UUID.timeOrdered(at: now)
        var message = message
        var sender = message.from.address
        if let secret {
            let domain = message.from.domain
            sender = Verp.address(.bounce, messageID: id, domain: domain, secret: secret)
            if message.replyTo == nil {
                message.replyTo = try MailAddress(
                    Verp.address(.reply, messageID: id, domain: domain, secret: secret), name: message.from.name)
            }
        }
        let bytes = try message.render()
        let row = OutboxMessage(
            kind: kind, dedupeKey: dedupeKey, transactional: transactional, candidateID: candidateID, sender: sender,
            recipient: message.to.map(\.address).joined(separator: ","), subject: message.subject,
            needsSMTPUTF8: message.needsSMTPUTF8, now: now)
        row.id = id
        row.applicationID = applicationID
        row.template = template
        if let sendAt { row.nextAttemptAt = max(sendAt, now) }
        try await row.create(body: String(decoding: bytes, as: UTF8.self), on: db)
        return true
    }

    /// Counts per status, for the queue page and the metrics.
    static func counts(on db: any Database) async throws -> [OutboxMessage.Status: Int] {
        struct Row: Decodable {
            var status: String
            var count: Int
        }
        let rows = try await db.sql().raw("SELECT status, COUNT(*) AS count FROM outbox GROUP BY status").all(
            decoding: Row.self)
        return Dictionary(
            rows.compactMap { row in OutboxMessage.Status(rawValue: row.status).map { ($0, row.count) } },
            uniquingKeysWith: +)
    }
}

extension Application {
    private struct TransportKey: StorageKey {
        typealias Value = any MailTransport
    }

    /// Where mail goes: the SMTP pool when `VIVIER_SMTP_URL` is set, else the Maildir under the data directory.
    var mailTransport: any MailTransport {
        get {
            if let transport = storage[TransportKey.self] { return transport }
            let transport: any MailTransport =
                if let smtp = config.mail.smtp {
                    SMTPPool(configuration: smtp, group: eventLoopGroup)
                } else {
                    (try? MaildirTransport(directory: config.mail.maildir))
                        ?? UnavailableTransport(reason: "cannot create \(config.mail.maildir.path)")
                }
            storage[TransportKey.self] = transport
            return transport
        }
        set { storage[TransportKey.self] = newValue }
    }
}

/// A transport that refuses everything with a reason: the queue keeps the messages and retries later.
struct UnavailableTransport: MailTransport {
    var reason: String
    func send(_ envelope: Envelope) async -> SMTPOutcome { .transientFailure(reason) }
    func shutdown() async {}
}

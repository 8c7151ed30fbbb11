import Fluent
import Vapor
import VivierMail

/// Mail coming back: delivery status notifications (RFC 3464) for `bounce+` addresses and candidates' replies for
/// `reply+` addresses, unsubscribes for `unsub+` addresses, complaints (RFC 5965). Piped in by the MTA through `vivier ingest-mail`.
struct Inbound {
    enum Failure: Error, CustomStringConvertible {
        case notOurs(String)
        case unknownMessage
        case unreadable(String)

        var description: String {
            switch self {
            case .notOurs(let address): "\(address) is not a Vivier bounce or reply address, or its token is forged"
            case .unknownMessage: "the token is valid but its message no longer exists"
            case .unreadable(let reason): "the message cannot be read: \(reason)"
            }
        }

        /// sysexits(3): what an MTA pipe understands (67 = no such user: the MTA bounces it; 65 = data error).
        var exitCode: Int32 {
            switch self {
            case .notOurs, .unknownMessage: 67
            case .unreadable: 65
            }
        }
    }

    enum Result: Equatable {
        case hardBounce(status: String)
        case softBounce(status: String)
        case reply
        case unsubscribed
        case complaint
    }

    let db: any Database
    let secret: [UInt8]
    let now: Date

    func ingest(_ raw: [UInt8], recipient: String?) async throws -> Result {
        guard !raw.isEmpty else { throw Failure.unreadable("empty input") }
        let reader = MailReader(raw)
        let address =
            recipient ?? reader.header("Delivered-To") ?? reader.header("X-Original-To") ?? reader.header("To") ?? ""
        let bare =
            address.split(separator: "<").last.map { $0.replacingOccurrences(of: ">", with: "") }?.trimmingCharacters(
                in: .whitespaces) ?? address
        guard let (kind, id) = Verp.parse(bare, secret: secret) else { throw Failure.notOurs(bare) }
        guard let message = try await OutboxMessage.find(id, on: db) else { throw Failure.unknownMessage }
        switch kind {
        case .bounce:
            // A feedback loop sends complaints (RFC 5965) to the envelope sender too.
            if reader.part("message/feedback-report") != nil {
                try await unsubscribe(message, as: .complaint)
                return .complaint
            }
            return try await bounce(reader, message)
        case .reply: return try await reply(reader, message)
        case .unsubscribe:
            try await unsubscribe(message, as: .unsubscribe)
            return .unsubscribed
        }
    }

    private func bounce(_ reader: MailReader, _ message: OutboxMessage) async throws -> Result {
        guard let report = reader.part("message/delivery-status") else {
            throw Failure.unreadable("no message/delivery-status part (RFC 3464)")
        }
        // Per-recipient fields follow the per-message ones; the first Status and Action found are this recipient's.
        let fields = MailReader.fields(of: report.text)
        guard let status = fields["status"]?.split(separator: " ").first.map(String.init), let first = status.first,
            first == "4" || first == "5"
        else { throw Failure.unreadable("no Status field in the delivery report") }
        let diagnostic = fields["diagnostic-code"] ?? fields["action"] ?? ""
        let hard = first == "5"
        try await db.transaction { db in
            message.lastReply = String("bounce \(status): \(diagnostic)".prefix(1000))
            if hard {
                message.status = .failed
                for recipient in message.recipient.split(separator: ",") {
                    let hash = Suppression.hash(String(recipient))
                    if try await Suppression.query(on: db).filter(\.$addressHash == hash).count() == 0 {
                        try await Suppression(address: String(recipient), reason: "hard bounce \(status)", at: now)
                            .create(on: db)
                    }
                }
            }
            try await message.save(on: db)
            if let candidateID = message.$candidate.id {
                try await Interaction(
                    candidateID: candidateID, applicationID: nil, actorID: nil, kind: .message,
                    detail: String("\(hard ? "hard" : "soft") bounce \(status) — \(message.subject)".prefix(300)),
                    at: now
                ).create(on: db)
            }
        }
        return hard ? .hardBounce(status: status) : .softBounce(status: status)
    }

    /// An unsubscribe by mail (RFC 8058's `mailto:` alternative) or a spam complaint: the person leaves every
    /// marketing list at once, and the campaign's report counts it.
    private func unsubscribe(_ message: OutboxMessage, as kind: CampaignEvent.Kind) async throws {
        guard let candidateID = message.$candidate.id, let candidate = try await Candidate.find(candidateID, on: db)
        else { return }
        try await Newsletter.unsubscribe(candidate, channel: .emailLink, on: db, now: now)
        if let campaignID = message.campaignID {
            try await CampaignEvent(
                campaignID: campaignID, outboxID: try message.requireID(), candidateID: candidateID, kind: kind, at: now
            ).create(on: db)
        }
    }

    private func reply(_ reader: MailReader, _ message: OutboxMessage) async throws -> Result {
        let text = (reader.part("text/plain")?.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let subject = reader.header("Subject") ?? ""
        guard let candidateID = message.$candidate.id else { return .reply }
        try await db.transaction { db in
            try await Interaction(
                candidateID: candidateID, applicationID: message.applicationID, actorID: nil, kind: .reply,
                detail: String("\(subject) — \(text)".prefix(1000)), at: now
            ).create(on: db)
            // A reply is an act of the candidate: it counts as active contact (retention, ghosting).
            if let candidate = try await Candidate.find(candidateID, on: db) {
                candidate.lastActiveContactAt = now
                try await candidate.save(on: db)
            }
        }
        return .reply
    }
}

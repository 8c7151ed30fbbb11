import Fluent
import SQLKit
import Vapor
import VivierMail

/// Sends what the outbox holds. Claims batches under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
/// workers share the queue; one worker per SQLite database), marks each message `in_flight` in its own commit right
/// before handing it to the transport and records the outcome right after — so a crash leaves at most one message
/// per connection in doubt. After a crash, expired leases come back: claimed rows are sent again, in-flight rows
/// become `in_doubt`; transactional messages are then re-sent, campaign messages are not (they are reported).
final class OutboxWorker: Sendable {
    let app: Application
    let id: String
    let batchSize: Int
    let concurrency: Int
    static let lease: TimeInterval = 60
    static let maxAttempts = 12

    init(app: Application, batchSize: Int = 100) {
        self.app = app
        self.id = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        self.batchSize = batchSize
        self.concurrency = app.config.mail.smtp?.poolSize ?? 4
    }

    var db: any Database { app.db }
    var now: Date { app.clock.now() }

    /// Runs until the task is cancelled: recover, send, sleep a little when idle.
    func run() async {
        app.logger.info("outbox worker started", metadata: ["worker": .string(id)])
        var lastHeartbeat = Date.distantPast
        while !Task.isCancelled {
            do {
                if now.timeIntervalSince(lastHeartbeat) > Self.lease / 3 {
                    try await heartbeat()
                    try await recoverExpired()
                    lastHeartbeat = now
                }
                let sent = try await runOnce()
                if sent == 0 { try await Task.sleep(for: .milliseconds(500)) }
            } catch is CancellationError {
                break
            } catch {
                app.logger.error("outbox worker error", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// Claims one batch and sends it; returns how many messages were handled.
    @discardableResult
    func runOnce() async throws -> Int {
        let ids = try await claim()
        guard !ids.isEmpty else { return 0 }
        let messages = try await OutboxMessage.query(on: db).filter(\.$id ~~ ids).sort(\.$nextAttemptAt).all()
        await withTaskGroup(of: Void.self) { group in
            var index = 0
            for message in messages {
                if index >= concurrency { await group.next() }
                index += 1
                group.addTask { await self.deliver(message) }
            }
        }
        return messages.count
    }

    /// Extends the lease of everything this worker holds, so other workers leave it alone while it lives.
    func heartbeat() async throws {
        try await OutboxMessage.query(on: db).filter(\.$claimedBy == id).filter(\.$status ~~ [.claimed, .inFlight])
            .set(\.$leaseUntil, to: now + Self.lease).update()
    }

    /// Gives back what a dead worker held: claimed rows return to the queue, in-flight rows are in doubt, and
    /// transactional messages in doubt are queued again.
    func recoverExpired(all: Bool = false) async throws {
        var claimed = OutboxMessage.query(on: db).filter(\.$status == .claimed)
        var inFlight = OutboxMessage.query(on: db).filter(\.$status == .inFlight)
        if !all {
            claimed = claimed.filter(\.$leaseUntil < now)
            inFlight = inFlight.filter(\.$leaseUntil < now)
        }
        try await claimed.set(\.$status, to: .pending).set(\.$claimedBy, to: nil).update()
        try await inFlight.set(\.$status, to: .inDoubt).set(\.$claimedBy, to: nil)
            .set(\.$lastReply, to: "connection state unknown after a worker stopped; not confirmed by the server")
            .update()
        try await OutboxMessage.query(on: db).filter(\.$status == .inDoubt).filter(\.$transactional == true)
            .set(\.$status, to: .retry).set(\.$nextAttemptAt, to: now).update()
    }

    private func claim() async throws -> [UUID] {
        let now = self.now
        if db.isPostgres {
            struct Row: Decodable { var id: UUID }
            return try await db.sql().raw(
                """
                UPDATE outbox SET status = 'claimed', claimed_by = \(bind: id), lease_until = \(bind: now + Self.lease), updated_at = \(bind: now)
                WHERE id IN (
                    SELECT id FROM outbox WHERE status IN ('pending', 'retry') AND next_attempt_at <= \(bind: now)
                    ORDER BY next_attempt_at LIMIT \(literal: batchSize) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """
            ).all(decoding: Row.self).map(\.id)
        }
        // SQLite has a single worker (enforced at start), so a select then an update cannot race.
        let ids = try await OutboxMessage.query(on: db).filter(\.$status ~~ [.pending, .retry]).filter(
            \.$nextAttemptAt <= now
        )
        .sort(\.$nextAttemptAt).limit(batchSize).all().compactMap(\.id)
        guard !ids.isEmpty else { return [] }
        try await OutboxMessage.query(on: db).filter(\.$id ~~ ids).filter(\.$status ~~ [.pending, .retry])
            .set(\.$status, to: .claimed).set(\.$claimedBy, to: id).set(\.$leaseUntil, to: now + Self.lease).update()
        return ids
    }

    private func deliver(_ message: OutboxMessage) async {
        do {
            guard let messageID = message.id else { return }
            // Suppression is checked now, not when the message was queued: an unsubscribe or a bounce that arrived
            // since then wins.
            let recipients = message.recipient.split(separator: ",").map(String.init)
            let hashes = recipients.map(Suppression.hash)
            if try await Suppression.query(on: db).filter(\.$addressHash ~~ hashes).count() > 0 {
                try await finish(messageID, status: .suppressed, reply: "address on the suppression list")
                return
            }
            // Durable before the first byte goes out: this is what makes a crash leave the message "in doubt".
            let marked = try await OutboxMessage.query(on: db).filter(\.$id == messageID).filter(\.$claimedBy == id)
                .filter(\.$status == .claimed).set(\.$status, to: .inFlight).set(\.$attempts, to: message.attempts + 1)
                .update()
            _ = marked
            var data = Array(message.message.utf8)
            if !app.config.mail.signers.isEmpty {
                data = try DKIMSigner.sign(data, with: app.config.mail.signers, at: now)
            }
            let outcome = await app.mailTransport.send(
                Envelope(
                    sender: message.sender, recipients: recipients, data: data, needsSMTPUTF8: message.needsSMTPUTF8))
            switch outcome {
            case .sent(let reply):
                try await finish(messageID, status: .sent, reply: reply.description, sentAt: now)
            case .permanentFailure(let reason):
                try await finish(messageID, status: .failed, reply: reason)
            case .transientFailure(let reason):
                let attempts = message.attempts + 1
                if attempts >= Self.maxAttempts {
                    try await finish(messageID, status: .failed, reply: "gave up after \(attempts) attempts: \(reason)")
                } else {
                    // 1 min, 2, 4... capped at 6 h: about 36 hours of trying in all.
                    let delay = min(60 * pow(2, Double(attempts - 1)), 6 * 3600)
                    try await finish(messageID, status: .retry, reply: reason, retryAt: now + delay)
                }
            case .inDoubt(let reason):
                // The server may have the message. Transactional mail is sent again; campaigns are not.
                if message.transactional {
                    try await finish(
                        messageID, status: .retry, reply: "in doubt, sending again: \(reason)", retryAt: now + 60)
                } else {
                    try await finish(messageID, status: .inDoubt, reply: reason)
                }
            }
        } catch {
            app.logger.error(
                "outbox delivery error",
                metadata: ["message": .string(message.id?.uuidString ?? ""), "error": .string("\(error)")])
        }
    }

    private func finish(
        _ id: UUID, status: OutboxMessage.Status, reply: String, sentAt: Date? = nil, retryAt: Date? = nil
    ) async throws {
        var query = OutboxMessage.query(on: db).filter(\.$id == id).set(\.$status, to: status).set(
            \.$lastReply, to: String(reply.prefix(1000))
        )
        .set(\.$claimedBy, to: nil).set(\.$leaseUntil, to: nil)
        if let sentAt { query = query.set(\.$sentAt, to: sentAt) }
        if let retryAt { query = query.set(\.$nextAttemptAt, to: retryAt) }
        try await query.update()
    }
}

/// One sending worker per SQLite database: an exclusive lock on a file next to it, held while the process lives.
enum WorkerLock {
    /// The lock for this app's database: a real lock on SQLite, nothing on PostgreSQL (workers share the queue).
    static func forDatabase(_ app: Application) throws -> Int32? {
        guard case .sqlite(let path) = app.config.database else { return nil }
        return try acquire(in: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    static func acquire(in directory: URL) throws -> Int32 {
        let path = directory.appendingPathComponent("worker.lock").path
        let fd = open(path, O_CREAT | O_RDWR, 0o600)
        guard fd >= 0 else { throw Abort(.internalServerError, reason: "cannot open \(path)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw Abort(
                .conflict,
                reason:
                    "another Vivier worker is already sending from this SQLite database (\(path)); run one worker per SQLite database, or use PostgreSQL for several"
            )
        }
        return fd
    }
}

import Fluent
import SQLKit
import Vapor
import VivierMail

/// Sends what the outbox holds. Claims batches under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
/// workers share the queue; one worker per SQLite database), marks each message `in_flight` in a commit right before
/// handing it to the transport and records the outcome in the next commit of its connection's lane — so a crash
/// leaves at most one message per connection in doubt. After a crash, expired leases come back: claimed rows are sent again, in-flight rows
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

    /// Runs until the task is cancelled: send, sleep a little when idle. Beside it, a heartbeat renews this worker's
    /// leases and recovers those of dead workers, even while a slow batch is being sent.
    func run() async {
        app.logger.info("outbox worker started", metadata: ["worker": .string(id)])
        let beat = Task {
            while !Task.isCancelled {
                do {
                    try await heartbeat()
                    try await recoverExpired()
                } catch {
                    app.logger.error("outbox heartbeat error", metadata: ["error": .string("\(error)")])
                }
                try? await Task.sleep(for: .seconds(Self.lease / 3))
            }
        }
        defer { beat.cancel() }
        while !Task.isCancelled {
            do {
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

    /// Claims one batch and sends it; returns how many messages were handled. The batch is split into one lane per
    /// connection; in a lane, the outcome of a message and the in-flight mark of the next are one commit, so each
    /// lane has at most one message in flight whatever happens, at half the commits.
    @discardableResult
    func runOnce() async throws -> Int {
        let ids = try await claim()
        guard !ids.isEmpty else { return 0 }
        let messages = try await OutboxMessage.query(on: db).filter(\.$id ~~ ids).sort(\.$nextAttemptAt).all()
        // Suppression is checked now, not when the message was queued: an unsubscribe or a bounce since then wins.
        let hashes = Set(messages.flatMap { $0.recipient.split(separator: ",").map { Suppression.hash(String($0)) } })
        // An unsubscribe stops marketing only (the candidate still hears about their applications); a hard bounce or
        // an erasure stops everything.
        let rows = try await Suppression.query(on: db).filter(\.$addressHash ~~ Array(hashes)).all()
        let suppressed = Suppression.Blocked(
            all: Set(rows.filter { !$0.marketingOnly }.map(\.addressHash)),
            marketing: Set(rows.filter(\.marketingOnly).map(\.addressHash)))
        // A campaign message also needs, at this moment, the consent it was sent for and to be within its deadline.
        var refused: [UUID: Outcome] = [:]
        for message in messages {
            if let id = message.id, let notAfter = message.notAfter, notAfter < now {
                refused[id] = Outcome(id: id, status: .cancelled, reply: "past the campaign's deadline")
            }
        }
        let bulk = messages.filter { $0.consentPurpose != nil && refused[$0.id!] == nil }
        for group in Dictionary(
            grouping: bulk, by: { "\($0.consentPurpose!.rawValue)|\($0.consentSeries?.uuidString ?? "")" }
        )
        .values {
            let purpose = group[0].consentPurpose!
            let allowed = try await ConsentLedger.marketable(
                group.compactMap { $0.$candidate.id }, purpose: purpose, series: group[0].consentSeries, on: db)
            for message in group where !allowed.contains(message.$candidate.id ?? UUID()) {
                refused[message.id!] = Outcome(
                    id: message.id!, status: .suppressed, reply: "no consent for \(purpose.rawValue) any more")
            }
        }
        let stopped = refused
        let commits = CommitGroup(worker: self)
        let lanes = (0..<concurrency).map { lane in
            stride(from: lane, to: messages.count, by: concurrency).map { messages[$0] }
        }
        await withTaskGroup(of: Void.self) { group in
            for lane in lanes where !lane.isEmpty {
                group.addTask { await self.deliver(lane, suppressed: suppressed, refused: stopped, commits: commits) }
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

    /// What happened to a message, waiting to be written with the next step of its lane.
    struct Outcome {
        var id: UUID
        var status: OutboxMessage.Status
        var reply: String
        var sentAt: Date?
        var retryAt: Date?
    }

    private func deliver(
        _ lane: [OutboxMessage], suppressed: Suppression.Blocked, refused: [UUID: Outcome], commits: CommitGroup
    ) async {
        var previous: Outcome?
        for message in lane {
            guard let messageID = message.id else { continue }
            let recipients = message.recipient.split(separator: ",").map(String.init)
            do {
                let blocked =
                    refused[messageID]
                    ?? (recipients.contains(where: {
                        suppressed.blocks(Suppression.hash($0), transactional: message.transactional)
                    }) ? Outcome(id: messageID, status: .suppressed, reply: "address on the suppression list") : nil)
                if let blocked {
                    _ = try await commits.submit(.init(done: [previous, blocked].compactMap { $0 }, mark: nil))
                    previous = nil
                    continue
                }
                // Durable before the first byte goes out: this is what makes a crash leave the message "in doubt".
                // The previous outcome of this lane rides in the same commit, shared with whatever other lanes wait.
                let owned = try await commits.submit(
                    .init(done: previous.map { [$0] } ?? [], mark: messageID))
                previous = nil
                guard owned else { continue }
                var data = Array(message.message.utf8)
                if !app.config.mail.signers.isEmpty {
                    data = try DKIMSigner.sign(data, with: app.config.mail.signers, at: now)
                }
                let outcome = await app.mailTransport.send(
                    Envelope(
                        sender: message.sender, recipients: recipients, data: data, needsSMTPUTF8: message.needsSMTPUTF8
                    ))
                previous = classify(outcome, message: message, id: messageID)
            } catch {
                app.logger.error(
                    "outbox delivery error",
                    metadata: ["message": .string(messageID.uuidString), "error": .string("\(error)")])
            }
        }
        do {
            if let previous { _ = try await commits.submit(.init(done: [previous], mark: nil)) }
        } catch {
            app.logger.error("outbox delivery error", metadata: ["error": .string("\(error)")])
        }
    }

    private func classify(_ outcome: SMTPOutcome, message: OutboxMessage, id: UUID) -> Outcome {
        let label =
            switch outcome {
            case .sent: "sent"
            case .transientFailure: "temporary"
            case .permanentFailure: "permanent"
            case .inDoubt: "in_doubt"
            }
        app.metrics.smtp(label)
        switch outcome {
        case .sent(let reply):
            return Outcome(id: id, status: .sent, reply: reply.description, sentAt: now)
        case .permanentFailure(let reason):
            return Outcome(id: id, status: .failed, reply: reason)
        case .transientFailure(let reason):
            let attempts = message.attempts + 1
            if attempts >= Self.maxAttempts {
                return Outcome(id: id, status: .failed, reply: "gave up after \(attempts) attempts: \(reason)")
            }
            // 1 min, 2, 4... capped at 6 h: about 36 hours of trying in all.
            let delay = min(60 * pow(2, Double(attempts - 1)), 6 * 3600)
            return Outcome(id: id, status: .retry, reply: reason, retryAt: now + delay)
        case .inDoubt(let reason):
            // The server may have the message. Transactional mail is sent again; campaigns are not.
            return message.transactional
                ? Outcome(id: id, status: .retry, reply: "in doubt, sending again: \(reason)", retryAt: now + 60)
                : Outcome(id: id, status: .inDoubt, reply: reason)
        }
    }

    /// Marks claimed messages in flight in one statement; returns those still ours (a lease lost to another
    /// worker means that worker sends it, not us).
    func markInFlight(_ ids: [UUID], on db: any Database) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let sql = db.sql()
        let rows = try await sql.raw(
            """
            UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, updated_at = \(bind: now)
            WHERE claimed_by = \(bind: id) AND status = 'claimed' AND id IN (\(SQLList(ids.map { SQLBind($0) })))
            RETURNING id
            """
        ).all()
        return Set(try rows.map { try $0.decode(column: "id", as: UUID.self) })
    }

    /// Records the outcomes of a commit group in one statement (one `CASE` per column).
    func write(_ outcomes: [Outcome], on db: any Database) async throws {
        guard !outcomes.isEmpty else { return }
        func cases(_ column: String, _ value: (Outcome) -> (any SQLExpression)?) -> any SQLExpression {
            var parts: [any SQLExpression] = [SQLRaw("CASE id")]
            for outcome in outcomes {
                parts += [SQLRaw("WHEN"), SQLBind(outcome.id), SQLRaw("THEN"), value(outcome) ?? SQLColumn(column)]
            }
            parts.append(SQLRaw("END"))
            return SQLBinaryExpression(SQLColumn(column), .equal, SQLList(parts, separator: SQLRaw(" ")))
        }
        let assignments: [any SQLExpression] = [
            cases("status") { SQLBind($0.status.rawValue) },
            cases("last_reply") { SQLBind(String($0.reply.prefix(1000))) },
            cases("sent_at") { $0.sentAt.map { SQLBind($0) } },
            cases("next_attempt_at") { $0.retryAt.map { SQLBind($0) } },
            SQLBinaryExpression(SQLColumn("claimed_by"), .equal, SQLLiteral.null),
            SQLBinaryExpression(SQLColumn("lease_until"), .equal, SQLLiteral.null),
            SQLBinaryExpression(SQLColumn("updated_at"), .equal, SQLBind(now)),
        ]
        let ids = SQLGroupExpression(SQLList(outcomes.map { SQLBind($0.id) }))
        try await db.sql().raw("UPDATE outbox SET \(SQLList(assignments)) WHERE id IN \(ids)").run()
    }
}

/// Group commit for the lanes of a batch: the requests waiting when a commit starts all go into it, so one
/// durable write covers up to one step of every connection instead of one per message.
actor CommitGroup {
    struct Request {
        var done: [OutboxWorker.Outcome]
        /// The message to mark in flight (its attempts count goes up by one).
        var mark: UUID?
    }

    private let worker: OutboxWorker
    private var queue: [(Request, CheckedContinuation<Bool, any Error>)] = []
    private var committing = false

    init(worker: OutboxWorker) { self.worker = worker }

    /// Writes `request` durably; true when its message may be sent.
    func submit(_ request: Request) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            queue.append((request, continuation))
            if !committing {
                committing = true
                Task { await drain() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            let batch = queue
            queue = []
            do {
                let worker = self.worker
                let owned = try await worker.db.transaction { db -> Set<UUID> in
                    try await worker.write(batch.flatMap { $0.0.done }, on: db)
                    return try await worker.markInFlight(batch.compactMap { $0.0.mark }, on: db)
                }
                for (request, continuation) in batch {
                    continuation.resume(returning: request.mark.map { owned.contains($0) } ?? false)
                }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        committing = false
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

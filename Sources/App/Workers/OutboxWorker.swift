import Fluent
import SQLKit
import Vapor
import VivierCore
import VivierMail

/// Sends what the outbox holds. Takes batches (claimed under a lease with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
/// so several workers share the queue; read on SQLite, which has one worker), gives each connection a lane, marks a
/// lane's messages `in_flight` a window at a time in a commit before handing them to the transport and records their
/// outcomes with a later commit of the lane — so a crash leaves at most two windows per connection in doubt. After
/// a crash, expired leases come back: claimed rows are sent again, in-flight rows become `in_doubt`; transactional
/// messages are then re-sent, campaign messages are not (they are reported).
final class OutboxWorker: Sendable {
    let app: Application
    let id: String
    let batchSize: Int
    let concurrency: Int
    /// Messages a connection's lane marks in flight in one commit before sending them one after the other.
    let window: Int
    static let lease: TimeInterval = 60
    static let maxAttempts = 12

    /// A batch holds up to sixteen windows per connection (2,048 messages at most in memory): the lanes wait for
    /// each other at a batch's end, so the fewer ends the better (four windows instead of sixteen: 10 % slower).
    init(app: Application, batchSize: Int? = nil) {
        self.app = app
        self.id = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        self.concurrency = app.config.mail.smtp?.poolSize ?? 4
        self.window = app.config.mail.smtp?.inFlightWindow ?? 32
        self.batchSize = batchSize ?? max(concurrency * window, min(concurrency * window * 16, 2048))
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
                let sent = try await sendAllDue()
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
        let messages = try await claimBatch()
        try await sendBatch(messages)
        return messages.count
    }

    /// Sends batch after batch until none is due, claiming and reading the next while the current one is being
    /// sent; returns how many messages were handled. A batch claimed when the task is cancelled goes back.
    @discardableResult
    func sendAllDue() async throws -> Int {
        var messages = try await claimBatch()
        var handled = 0
        while !messages.isEmpty {
            let held = messages.map(\.id)
            let next = Task { try await self.claimBatch(excluding: held) }
            do {
                try await sendBatch(messages)
            } catch {
                if let unsent = try? await next.value { try? await release(unsent) }
                throw error
            }
            handled += messages.count
            guard !Task.isCancelled else {
                if let unsent = try? await next.value { try await release(unsent) }
                break
            }
            messages = try await next.value
        }
        return handled
    }

    /// The next batch due, read. On PostgreSQL it is first claimed under this worker's lease, so that workers
    /// sharing the queue take different batches. SQLite has one worker (enforced at start), so a batch is only read:
    /// marking a window in flight is what takes a message, and sparing a write per message is a third of the
    /// database's work. `excluding` names the batch still being sent, whose rows may still be pending there.
    private func claimBatch(excluding held: [UUID] = []) async throws -> [Claimed] {
        // The batch is chosen in a subquery, so that SQLite stops reading the due index at the batch's size instead
        // of joining every due message's body before sorting.
        func read(_ batch: SQLQueryString) async throws -> [Claimed] {
            try await db.sql().raw(
                """
                SELECT o.id, o.candidate_id, o.sender, o.recipient, b.message, o.needs_smtputf8, o.transactional,
                o.attempts, o.not_after, o.consent_purpose, o.consent_series
                FROM (\(batch)) o JOIN outbox_bodies b ON b.id = o.id ORDER BY o.next_attempt_at
                """
            ).all(decoding: Claimed.self)
        }
        guard db.isPostgres else {
            let exclusion: SQLQueryString =
                held.isEmpty ? "" : " AND id NOT IN (\(SQLList(held.map { SQLBind($0) })))"
            return try await read(
                """
                SELECT * FROM outbox WHERE status IN ('pending', 'retry') AND next_attempt_at <= \(bind: now)\(exclusion)
                ORDER BY next_attempt_at LIMIT \(literal: batchSize)
                """)
        }
        let ids = try await claim()
        guard !ids.isEmpty else { return [] }
        return try await read("SELECT * FROM outbox WHERE id IN (\(SQLList(ids.map { SQLBind($0) })))")
    }

    /// Gives a claimed batch back to the queue (the worker stops before sending it). SQLite's batches are only read,
    /// so there is nothing to give back there.
    private func release(_ messages: [Claimed]) async throws {
        guard !messages.isEmpty, db.isPostgres else { return }
        try await OutboxMessage.query(on: db).filter(\.$id ~~ messages.map(\.id)).filter(\.$status == .claimed)
            .set(\.$status, to: .pending).set(\.$claimedBy, to: nil).set(\.$leaseUntil, to: nil).update()
    }

    /// Sends one claimed batch: suppression, consent and deadline checked now, then one lane per connection.
    private func sendBatch(_ messages: [Claimed]) async throws {
        guard !messages.isEmpty else { return }
        // Suppression is checked now, not when the message was queued: an unsubscribe or a bounce since then wins.
        let hashes = Dictionary(uniqueKeysWithValues: messages.map { ($0.id, $0.recipients.map(Suppression.hash)) })
        // An unsubscribe stops marketing only (the candidate still hears about their applications); a hard bounce or
        // an erasure stops everything.
        let rows = try await Suppression.query(on: db).filter(\.$addressHash ~~ Array(Set(hashes.values.joined())))
            .all()
        let suppressed = Suppression.Blocked(
            all: Set(rows.filter { !$0.marketingOnly }.map(\.addressHash)),
            marketing: Set(rows.filter(\.marketingOnly).map(\.addressHash)))
        // A campaign message also needs, at this moment, the consent it was sent for and to be within its deadline.
        var refused: [UUID: Outcome] = [:]
        for message in messages {
            if let notAfter = message.notAfter, notAfter < now {
                refused[message.id] = Outcome(id: message.id, status: .cancelled, reply: "past the campaign's deadline")
            }
        }
        let bulk = messages.filter { $0.consentPurpose != nil && refused[$0.id] == nil }
        for group in Dictionary(
            grouping: bulk, by: { "\($0.consentPurpose!)|\($0.consentSeries?.uuidString ?? "")" }
        )
        .values {
            guard let purpose = group[0].consentPurpose.flatMap(ConsentPurpose.init(rawValue:)) else {
                for message in group {
                    refused[message.id] = Outcome(id: message.id, status: .suppressed, reply: "unknown consent purpose")
                }
                continue
            }
            let allowed = try await ConsentLedger.marketable(
                group.compactMap(\.candidateID), purpose: purpose, series: group[0].consentSeries, on: db)
            for message in group where !allowed.contains(message.candidateID ?? UUID()) {
                refused[message.id] = Outcome(
                    id: message.id, status: .suppressed, reply: "no consent for \(purpose.rawValue) any more")
            }
        }
        for message in messages where refused[message.id] == nil {
            if hashes[message.id]!.contains(where: { suppressed.blocks($0, transactional: message.transactional) }) {
                refused[message.id] = Outcome(
                    id: message.id, status: .suppressed, reply: "address on the suppression list")
            }
        }
        let stopped = refused
        let commits = CommitGroup(worker: self)
        let lanes = (0..<concurrency).map { lane in
            stride(from: lane, to: messages.count, by: concurrency).map { messages[$0] }
        }
        await withTaskGroup(of: Void.self) { group in
            for lane in lanes where !lane.isEmpty {
                group.addTask { await self.deliver(lane, refused: stopped, commits: commits) }
            }
        }
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
        struct Row: Decodable { var id: UUID }
        let now = self.now
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

    /// What the worker reads of a claimed message (plain columns: decoding whole models cost more than sending).
    struct Claimed: Decodable, Sendable {
        var id: UUID
        var candidateID: UUID?
        var sender: String
        var recipient: String
        var message: String
        var needsSMTPUTF8: Bool
        var transactional: Bool
        var attempts: Int
        var notAfter: Date?
        var consentPurpose: String?
        var consentSeries: UUID?

        var recipients: [String] { recipient.split(separator: ",").map(String.init) }

        enum CodingKeys: String, CodingKey {
            case id, sender, recipient, message, transactional, attempts
            case candidateID = "candidate_id"
            case needsSMTPUTF8 = "needs_smtputf8"
            case notAfter = "not_after"
            case consentPurpose = "consent_purpose"
            case consentSeries = "consent_series"
        }
    }

    /// What happened to a message, waiting to be written with the next step of its lane.
    struct Outcome {
        var id: UUID
        var status: OutboxMessage.Status
        var reply: String
        var sentAt: Date?
        var retryAt: Date?
    }

    /// Sends a lane's messages on one connection, a window at a time. A window is marked in flight (with the
    /// outcomes of the window before the last) while the previous one is being sent, so the database and the SMTP
    /// server work at the same time; at most two windows of a lane are in flight.
    private func deliver(_ lane: [Claimed], refused: [UUID: Outcome], commits: CommitGroup) async {
        let windows = stride(from: 0, to: lane.count, by: window).map { start in
            let part = lane[start..<min(start + window, lane.count)]
            return (sendable: part.filter { refused[$0.id] == nil }, refused: part.compactMap { refused[$0.id] })
        }
        var previous: [Outcome] = []
        // Durable before the first byte goes out: this is what makes a crash leave the window "in doubt". The
        // outcomes waiting ride in the same commit, shared with whatever other lanes wait.
        func mark(_ index: Int) -> (request: CommitGroup.Request, commit: Task<Set<UUID>, any Error>) {
            let request = CommitGroup.Request(
                done: previous + windows[index].refused, marks: windows[index].sendable.map(\.id))
            previous = []
            return (request, Task { try await commits.submit(request) })
        }
        var marking = windows.isEmpty ? nil : mark(0)
        for index in windows.indices {
            var owned: Set<UUID> = []
            if let marking {
                do {
                    owned = try await marking.commit.value
                } catch {
                    // Nothing of that commit was written: its outcomes wait for the next one, and the window goes
                    // back to the queue instead of staying claimed under this worker's live lease.
                    app.logger.error("outbox delivery error", metadata: ["error": .string("\(error)")])
                    previous = marking.request.done + previous
                    try? await release(windows[index].sendable)
                }
            }
            marking = index + 1 < windows.count ? mark(index + 1) : nil
            previous += await send(windows[index].sendable.filter { owned.contains($0.id) })
        }
        do {
            if !previous.isEmpty { _ = try await commits.submit(.init(done: previous, marks: [])) }
        } catch {
            app.logger.error("outbox delivery error", metadata: ["error": .string("\(error)")])
        }
    }

    /// Signs (DKIM) and sends a window's messages on one connection, in order; the outcomes to record.
    private func send(_ messages: [Claimed]) async -> [Outcome] {
        var outcomes: [Outcome] = []
        var signed: [(Claimed, Envelope)] = []
        for message in messages {
            var data = Array(message.message.utf8)
            if !app.config.mail.signers.isEmpty {
                do {
                    data = try DKIMSigner.sign(data, with: app.config.mail.signers, at: now)
                } catch {
                    outcomes.append(classify(.transientFailure("DKIM signing failed: \(error)"), message: message))
                    continue
                }
            }
            let envelope = Envelope(
                sender: message.sender, recipients: message.recipients, data: data,
                needsSMTPUTF8: message.needsSMTPUTF8)
            signed.append((message, envelope))
        }
        let results = await app.mailTransport.send(signed.map(\.1))
        return outcomes + zip(signed, results).map { classify($1, message: $0.0) }
    }

    private func classify(_ outcome: SMTPOutcome, message: Claimed) -> Outcome {
        let id = message.id
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

    /// Marks messages in flight under this worker's lease in one statement; returns those still ours: on
    /// PostgreSQL those it still has claimed (a lease lost to another worker means that worker sends them), on
    /// SQLite those still waiting (one cancelled meanwhile is not sent).
    func markInFlight(_ ids: [UUID], on db: any Database) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let sql = db.sql()
        let ours: SQLQueryString =
            db.isPostgres ? "claimed_by = \(bind: id) AND status = 'claimed'" : "status IN ('pending', 'retry')"
        let rows = try await sql.raw(
            """
            UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, claimed_by = \(bind: id),
            lease_until = \(bind: now + Self.lease), updated_at = \(bind: now)
            WHERE \(ours) AND id IN (\(SQLList(ids.map { SQLBind($0) })))
            RETURNING id
            """
        ).all()
        return Set(try rows.map { try $0.decode(column: "id", as: UUID.self) })
    }

    /// Records the outcomes of a commit group in one statement: a table of values joined to the outbox by id
    /// (a `CASE` per column costs every row a comparison with every outcome).
    func write(_ outcomes: [Outcome], on db: any Database) async throws {
        guard !outcomes.isEmpty else { return }
        let rows = outcomes.map { outcome -> any SQLExpression in
            let values: [any SQLExpression] = [
                SQLBind(outcome.id), SQLBind(outcome.status.rawValue), SQLBind(String(outcome.reply.prefix(1000))),
                outcome.sentAt.map { SQLBind($0) } ?? SQLLiteral.null,
                outcome.retryAt.map { SQLBind($0) } ?? SQLLiteral.null,
            ]
            return SQLGroupExpression(SQLList(values))
        }
        // PostgreSQL reads a column of the values that holds only NULLs as text: the times are cast back.
        let time: SQLQueryString = db.isPostgres ? "::timestamptz" : ""
        try await db.sql().raw(
            """
            WITH v(id, status, reply, sent_at, retry_at) AS (VALUES \(SQLList(rows)))
            UPDATE outbox SET status = v.status, last_reply = v.reply,
            sent_at = COALESCE(v.sent_at\(time), outbox.sent_at),
            next_attempt_at = COALESCE(v.retry_at\(time), outbox.next_attempt_at),
            claimed_by = NULL, lease_until = NULL, updated_at = \(bind: now)
            FROM v WHERE outbox.id = v.id
            """
        ).run()
    }
}

/// Group commit for the lanes of a batch: the requests waiting when a commit starts all go into it, so one
/// durable write covers up to one step of every connection instead of one per message.
actor CommitGroup {
    struct Request {
        var done: [OutboxWorker.Outcome]
        /// The messages to mark in flight (their attempts count goes up by one).
        var marks: [UUID]
    }

    private let worker: OutboxWorker
    private var queue: [(Request, CheckedContinuation<Set<UUID>, any Error>)] = []
    private var committing = false

    init(worker: OutboxWorker) { self.worker = worker }

    /// Writes `request` durably; returns those of its messages that may be sent.
    func submit(_ request: Request) async throws -> Set<UUID> {
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
                    return try await worker.markInFlight(batch.flatMap { $0.0.marks }, on: db)
                }
                for (request, continuation) in batch {
                    continuation.resume(returning: owned.intersection(request.marks))
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

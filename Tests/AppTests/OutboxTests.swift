import Fluent
import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor
import VivierMail

@testable import App

/// A transport double for the worker's tests: answers with scripted outcomes and records what it was given. The
/// real transports are tested against real servers in VivierMailTests.
final class ScriptedTransport: MailTransport, @unchecked Sendable {
    private let lock = NIOLock()
    /// Outcomes per recipient, used in order; once used up (or for anyone else) the message is accepted.
    private var script: [String: [SMTPOutcome]]
    private(set) var sent: [Envelope] = []

    init(_ script: [String: [SMTPOutcome]] = [:]) { self.script = script }

    func send(_ envelope: Envelope) async -> SMTPOutcome {
        lock.withLock {
            sent.append(envelope)
            let recipient = envelope.recipients.first ?? ""
            guard var outcomes = script[recipient], !outcomes.isEmpty else {
                return .sent(SMTPReply(code: 250, lines: ["ok"]))
            }
            let next = outcomes.removeFirst()
            script[recipient] = outcomes
            return next
        }
    }

    var recipients: [String] { lock.withLock { sent.flatMap(\.recipients) } }

    func shutdown() async {}
}

@Suite("The outbox and its worker")
struct OutboxTests {
    static func message(_ to: String, subject: String = "Votre candidature à l’offre « Data Analyst »") throws
        -> MailMessage
    {
        MailMessage(
            from: try MailAddress("recrutement@atelier-boreal.example", name: "Atelier Boréal"),
            to: [try MailAddress(to, name: "Hélène")],
            subject: subject, text: "Bonjour Hélène,\n\nMerci !")
    }

    static func enqueue(_ app: Application, _ to: String, key: String? = nil, transactional: Bool = true) async throws {
        try await Outbox.enqueue(
            try message(to), kind: transactional ? "test" : "campaign", dedupeKey: key ?? "k:\(to)",
            transactional: transactional,
            candidateID: nil, on: app.db, now: app.clock.now())
    }

    static func status(_ app: Application, _ to: String) async throws -> OutboxMessage {
        try #require(try await OutboxMessage.query(on: app.db).filter(\.$recipient == to).first())
    }

    @Test func enqueue_isOncePerLogicalMessage() async throws {
        try await withApp { app, _ in
            try await Self.enqueue(app, "a@example.com", key: "ack:1")
            try await Self.enqueue(app, "a@example.com", key: "ack:1")
            #expect(try await OutboxMessage.query(on: app.db).count() == 1)
            // The database refuses a second copy even if a caller skips the check.
            let duplicate = OutboxMessage(
                kind: "x", dedupeKey: "ack:1", transactional: true, candidateID: nil, sender: "s@x.example",
                recipient: "a@example.com",
                subject: "x", needsSMTPUTF8: false, now: Date())
            await #expect(throws: (any Error).self) { try await duplicate.create(on: app.db) }
        }
    }

    @Test func inFlightMark_takesOnlyWhatThisWorkerMaySend() async throws {
        try await withApp { app, _ in
            for address in ["waiting@example.com", "cancelled@example.com"] { try await Self.enqueue(app, address) }
            let cancelled = try await Self.status(app, "cancelled@example.com")
            cancelled.status = .cancelled
            try await cancelled.save(on: app.db)
            let waiting = try await Self.status(app, "waiting@example.com")
            let worker = OutboxWorker(app: app)
            let marked = try await worker.markInFlight(
                [try waiting.requireID(), try cancelled.requireID()], on: app.db)
            if app.db.isPostgres {
                // Unclaimed: another worker may be about to claim it, so only a claim makes it ours.
                #expect(marked.isEmpty)
                #expect(try await Self.status(app, "waiting@example.com").status == .pending)
            } else {
                // SQLite's single worker read it still waiting: the mark takes it, under this worker's lease.
                #expect(marked == [try waiting.requireID()])
                let row = try await Self.status(app, "waiting@example.com")
                #expect(row.status == .inFlight && row.claimedBy == worker.id && row.attempts == 1)
            }
            #expect(try await Self.status(app, "cancelled@example.com").status == .cancelled)
        }
    }

    @Test(.enabled(if: isPostgresRun)) func messageBodies_areCompressedWithLZ4OnPostgreSQL() async throws {
        try await withApp { app, _ in
            struct Row: Decodable { var method: String }
            let method = try await app.db.sql().raw(
                "SELECT attcompression::text AS method FROM pg_attribute WHERE attrelid = 'outbox_bodies'::regclass AND attname = 'message'"
            ).first(decoding: Row.self)?.method
            #expect(method == "l")
        }
    }

    @Test func maildir_receivesTheExactMessageReadableInTheUI() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .admin)
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            try await browser.open("/app/outbox")
            #expect(try await browser.post("/app/outbox/test", []).status == .seeOther)
            let worker = OutboxWorker(app: app)
            #expect(try await worker.runOnce() == 1)
            let row = try await Self.status(app, "ana@example.com")
            #expect(row.status == .sent && row.attempts == 1 && row.sentAt != nil)
            let files = try FileManager.default.contentsOfDirectory(
                atPath: app.config.mail.maildir.appendingPathComponent("new").path)
            #expect(files.count == 1)
            let mailbox = try await browser.get("/app/mailbox")
            #expect(mailbox.body.contains("Vivier : email de test"))
            let message = try await browser.get("/app/mailbox/\(files[0])")
            #expect(message.body.contains("l&#39;envoi d&#39;emails fonctionne"))
            let traversal = try await browser.get("/app/mailbox/..%2F..%2Fsecret")
            #expect(traversal.status == .forbidden || traversal.status == .notFound, "\(traversal.status)")
            #expect(try await browser.get("/app/mailbox/.secret").status == .notFound)
            #expect(try await browser.get("/app/mailbox/secret").status == .notFound)
            let queue = try await browser.get("/app/outbox")
            #expect(queue.body.contains("Envoyé"))
        }
    }

    @Test func queue_pagesOf50_filteredByStatusAndAddress() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .admin)
            for index in 0..<1_020 { try await Self.enqueue(app, "person\(index)@example.com") }
            try await Self.enqueue(app, "helene.lefevre@example.org")
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            func rows(_ page: Browser.Page) -> Int {
                page.body.components(separatedBy: "<td><span class=\"badge").count - 1
            }
            let first = try await browser.get("/app/outbox")
            #expect(rows(first) == 50 && first.body.contains("1 / 21") && first.body.contains("/app/outbox?page=2"))
            // Counts are written as each language writes them.
            #expect(first.body.contains("1\u{202F}021") || first.body.contains("1\u{00A0}021"))
            let last = try await browser.get("/app/outbox?page=21")
            #expect(rows(last) == 21 && last.body.contains("21 / 21") && !last.body.contains("rel=\"next\""))
            #expect(rows(try await browser.get("/app/outbox?page=99")) == 21, "past the end: the last page")
            let found = try await browser.get("/app/outbox?status=pending&q=LEFEVRE")
            #expect(rows(found) == 1 && found.body.contains("helene.lefevre@example.org"))
            #expect(!found.body.contains("class=\"pagination\""), "one page: no pagination")
            let none = try await browser.get("/app/outbox?status=sent&q=lefevre")
            #expect(rows(none) == 0 && none.body.contains("Aucun message ne correspond"))
            let people = try await browser.get("/app/outbox?status=pending&q=person")
            #expect(people.body.contains("/app/outbox?status=pending&amp;q=person&amp;page=2"))
            #expect(try await browser.get("/app/outbox?lang=en").body.contains("1,021"))
        }
    }

    @Test func replyClasses_driveRetryFailureAndDoubt() async throws {
        try await withApp { app, clock in
            let transport = ScriptedTransport([
                "soft@example.com": [.transientFailure("451 4.3.0 try later")],
                "hard@example.com": [.permanentFailure("550 5.1.1 unknown user")],
                "doubt-transactional@example.com": [.inDoubt("connection lost after the dot")],
                "doubt-campaign@example.com": [.inDoubt("connection lost after the dot")],
            ])
            app.mailTransport = transport
            try await Self.enqueue(app, "soft@example.com")
            clock.advance(by: 1)
            try await Self.enqueue(app, "hard@example.com")
            clock.advance(by: 1)
            try await Self.enqueue(app, "doubt-transactional@example.com")
            clock.advance(by: 1)
            try await Self.enqueue(app, "doubt-campaign@example.com", transactional: false)
            let worker = OutboxWorker(app: app, batchSize: 10)
            #expect(try await worker.runOnce() == 4)
            let soft = try await Self.status(app, "soft@example.com")
            #expect(soft.status == .retry && soft.attempts == 1 && soft.lastReply?.hasPrefix("451") == true)
            #expect(soft.nextAttemptAt > clock.now())
            let hard = try await Self.status(app, "hard@example.com")
            #expect(hard.status == .failed && hard.lastReply == "550 5.1.1 unknown user")
            #expect(try await Self.status(app, "doubt-transactional@example.com").status == .retry)
            #expect(try await Self.status(app, "doubt-campaign@example.com").status == .inDoubt)
            // Nothing is due until the back-off has passed; then the soft failure is sent once more.
            #expect(try await worker.runOnce() == 0)
            clock.advance(by: 61)
            #expect(try await worker.runOnce() == 2)
            #expect(try await Self.status(app, "soft@example.com").status == .sent)
            #expect(try await Self.status(app, "hard@example.com").status == .failed)
            #expect(transport.recipients.filter { $0 == "hard@example.com" }.count == 1)
            #expect(transport.recipients.filter { $0 == "doubt-campaign@example.com" }.count == 1)
        }
    }

    @Test func suppressedAddress_isNeverHandedToTheTransport() async throws {
        try await withApp { app, _ in
            let transport = ScriptedTransport()
            app.mailTransport = transport
            try await Self.enqueue(app, "gone@example.com")
            // The suppression arrives after the message was queued: it still wins.
            try await Suppression(address: " Gone@Example.com", reason: "hard bounce 5.1.1", at: Date()).create(
                on: app.db)
            // An unsubscribe stops marketing, not what concerns the person's applications.
            try await Self.enqueue(app, "left@example.com")
            try await Suppression(address: "left@example.com", reason: Suppression.unsubscribeReason, at: Date())
                .create(on: app.db)
            _ = try await OutboxWorker(app: app).runOnce()
            #expect(try await Self.status(app, "gone@example.com").status == .suppressed)
            #expect(transport.sent.map(\.recipients) == [["left@example.com"]])
        }
    }

    @Test func crashRecovery_requeuesClaimedAndDoubtsInFlight() async throws {
        try await withApp { app, clock in
            for address in ["claimed@example.com", "inflight-t@example.com", "inflight-c@example.com"] {
                try await Self.enqueue(app, address, transactional: address != "inflight-c@example.com")
            }
            // A worker that died: one row claimed, two in flight, leases running.
            for (address, status) in [
                ("claimed@example.com", OutboxMessage.Status.claimed), ("inflight-t@example.com", .inFlight),
                ("inflight-c@example.com", .inFlight),
            ] {
                let row = try await Self.status(app, address)
                row.status = status
                row.claimedBy = "dead-worker"
                row.leaseUntil = clock.now() + OutboxWorker.lease
                try await row.save(on: app.db)
            }
            let worker = OutboxWorker(app: app)
            try await worker.recoverExpired()
            #expect(try await Self.status(app, "claimed@example.com").status == .claimed, "a live lease is left alone")
            clock.advance(by: OutboxWorker.lease + 1)
            try await worker.recoverExpired()
            #expect(try await Self.status(app, "claimed@example.com").status == .pending)
            #expect(try await Self.status(app, "inflight-t@example.com").status == .retry)
            let campaign = try await Self.status(app, "inflight-c@example.com")
            #expect(campaign.status == .inDoubt && campaign.lastReply?.contains("unknown") == true)
        }
    }

    @Test func twoWorkers_shareTheQueueWithoutSendingTwice() async throws {
        try await withApp { app, _ in
            guard isPostgresRun else { return }  // SQLite runs one worker per database, enforced by a lock.
            let transport = ScriptedTransport()
            app.mailTransport = transport
            for index in 0..<300 { try await Self.enqueue(app, "p\(index)@example.com") }
            let first = OutboxWorker(app: app, batchSize: 20), second = OutboxWorker(app: app, batchSize: 20)
            async let a: Int = {
                var total = 0; while true { let n = try await first.runOnce(); if n == 0 { return total }; total += n }
            }()
            async let b: Int = {
                var total = 0; while true { let n = try await second.runOnce(); if n == 0 { return total }; total += n }
            }()
            let (countA, countB) = try await (a, b)
            #expect(countA + countB == 300)
            #expect(countA > 0 && countB > 0, "both workers did part of the work: \(countA) / \(countB)")
            #expect(Set(transport.recipients).count == 300 && transport.recipients.count == 300)
            #expect(try await OutboxMessage.query(on: app.db).filter(\.$status == .sent).count() == 300)
        }
    }

    @Test func sqlite_allowsOneWorkerPerDatabase() async throws {
        try await withApp { app, _ in
            guard !isPostgresRun else { return }
            let first = try #require(try WorkerLock.forDatabase(app))
            #expect(throws: (any Error).self) { try WorkerLock.forDatabase(app) }
            close(first)
            let again = try #require(try WorkerLock.forDatabase(app))
            close(again)
        }
    }
}

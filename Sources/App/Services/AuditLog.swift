import Crypto
import Fluent
import Foundation
import Vapor

/// What the audit log records (ASVS 16.3): sign-ins and failed sign-ins, exports, erasures, CV downloads, changes of
/// users and roles, changes of settings. Never a secret, a token or a candidate's name: ids only.
enum AuditLog {
    enum Action: String, CaseIterable {
        case login
        case loginFailed = "login_failed"
        case logout
        case candidateExported = "candidate_exported"
        case candidatesExported = "candidates_exported"
        case candidateErased = "candidate_erased"
        case cvDownloaded = "cv_downloaded"
        case userCreated = "user_created"
        case userChanged = "user_changed"
        case settingsChanged = "settings_changed"
        case apiTokenCreated = "api_token_created"
        case apiTokenRevoked = "api_token_revoked"
        case candidatesImported = "candidates_imported"
        case webhookChanged = "webhook_changed"
        case passwordResetRequested = "password_reset_requested"
        case passwordReset = "password_reset"
    }

    /// Appends an event at the end of the chain. Writers take turns: SQLite's write lock, a transaction-scoped
    /// advisory lock on PostgreSQL (several instances share it). Should two still meet, the second one's insert is
    /// refused by the unique `seq` and it tries again behind the first.
    static func record(
        _ action: Action, actor: User?, label: String? = nil, target: String, detail: String = "", ip: String,
        on db: any Database, now: Date
    ) async throws {
        for attempt in 1...8 {
            do {
                try await db.writeTransaction { db in
                    if db.isPostgres {
                        try await db.sql().raw("SELECT pg_advisory_xact_lock(\(literal: Self.chainLock))").run()
                    }
                    let last = try await AuditEvent.query(on: db).sort(\.$seq, .descending).first()
                    let event = AuditEvent()
                    event.seq = (last?.seq ?? 0) + 1
                    event.at = Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded() / 1000)
                    event.actorID = actor?.id
                    event.actor = actor?.email ?? label ?? "system"
                    event.action = action.rawValue
                    event.target = target
                    event.detail = String(detail.prefix(500))
                    event.ip = ip
                    event.previousHash = last?.hash ?? ""
                    event.hash = hash(of: event)
                    try await event.create(on: db)
                }
                return
            } catch  where attempt < 8 {
                try await Task.sleep(for: .milliseconds(5 * attempt))
            }
        }
    }

    /// The advisory lock key of the chain's end (any constant no other lock of Vivier uses).
    static let chainLock = 0x5649_5649_4155_4454

    /// SHA-256 over the previous hash and every field, in a fixed order with separators that cannot occur inside.
    static func hash(of event: AuditEvent) -> String {
        let fields = [
            String(event.seq), String(Int64((event.at.timeIntervalSince1970 * 1000).rounded())),
            event.actorID?.uuidString.lowercased() ?? "", event.actor, event.action, event.target, event.detail,
            event.ip, event.previousHash,
        ]
        let canonical = fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|")
        return SHA256.hash(data: Data(canonical.utf8)).hexString
    }

    enum Verdict: Equatable {
        case intact(events: Int)
        case broken(seq: Int, reason: String)
    }

    /// Walks the chain from the first event: positions without gaps, each hash right, each link to the previous.
    static func verify(on db: any Database) async throws -> Verdict {
        var previous = ""
        var expected = 1
        var offset = 0
        while true {
            let page = try await AuditEvent.query(on: db).sort(\.$seq).offset(offset).limit(1000).all()
            if page.isEmpty { return .intact(events: expected - 1) }
            for event in page {
                if event.seq != expected { return .broken(seq: expected, reason: "event \(expected) is missing") }
                if event.previousHash != previous {
                    return .broken(seq: event.seq, reason: "does not follow event \(event.seq - 1)")
                }
                if hash(of: event) != event.hash { return .broken(seq: event.seq, reason: "was altered") }
                previous = event.hash
                expected += 1
            }
            offset += page.count
        }
    }
}

extension Request {
    /// Appends to the audit log as the signed-in user (or `label`), from this request's address.
    func audit(_ action: AuditLog.Action, target: String, detail: String = "", label: String? = nil) async throws {
        try await AuditLog.record(
            action, actor: currentUser, label: label, target: target, detail: detail, ip: clientAddress, on: db,
            now: now)
    }
}

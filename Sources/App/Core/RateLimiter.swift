import Fluent
import Vapor

/// Counts events in a sliding window, in the database so every instance sees the same counts.
struct RateLimiter {
    var bucket: String
    var limit: Int
    var window: TimeInterval

    static let failedLogin = RateLimiter(bucket: "login", limit: 5, window: 15 * 60)
    static let application = RateLimiter(bucket: "apply", limit: 10, window: 60)
    static let portalLink = RateLimiter(bucket: "portal", limit: 5, window: 15 * 60)
    static let passwordReset = RateLimiter(bucket: "reset", limit: 5, window: 15 * 60)
    /// Codes of the second factor, per account: 5 wrong codes in 15 minutes and the account waits.
    static let secondFactor = RateLimiter(bucket: "totp", limit: 5, window: 15 * 60)

    func isExceeded(key: String, on db: any Database, now: Date) async throws -> Bool {
        let count = try await RateEvent.query(on: db)
            .filter(\.$bucket == bucket).filter(\.$key == key).filter(\.$at > now - window)
            .count()
        return count >= limit
    }

    func record(key: String, on db: any Database, now: Date) async throws {
        try await RateEvent(bucket: bucket, key: key, at: now).create(on: db)
        // Old events are worthless: trim this key's history as we go rather than with a separate job.
        try await RateEvent.query(on: db)
            .filter(\.$bucket == bucket).filter(\.$key == key).filter(\.$at <= now - window)
            .delete()
    }

    func reset(key: String, on db: any Database) async throws {
        try await RateEvent.query(on: db).filter(\.$bucket == bucket).filter(\.$key == key).delete()
    }
}

extension Request {
    /// The client address used for rate limits. Behind a reverse proxy, the operator's proxy must set
    /// X-Forwarded-For; Vivier trusts it only from loopback peers.
    var clientAddress: String {
        let peer = remoteAddress?.ipAddress ?? "unknown"
        if peer == "127.0.0.1" || peer == "::1", let forwarded = headers.first(name: "X-Forwarded-For") {
            return forwarded.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? peer
        }
        return peer
    }
}

import Fluent
import Vapor

/// A recruiter, hiring manager or admin: someone who logs into the back office.
final class User: Model, @unchecked Sendable {
    static let schema = "users"

    enum Role: String, Codable, CaseIterable, Sendable {
        case admin
        case recruiter
        case hiringManager = "hiring_manager"
    }

    @ID(key: .id) var id: UUID?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    @Field(key: "email") var email: String
    @Field(key: "name") var name: String
    @Enum(key: "role") var role: Role
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "locale") var locale: String
    @Field(key: "active") var active: Bool
    /// The authenticator app's secret, sealed with the installation secret; set at enrolment, in use once
    /// `totpEnabledAt` is set.
    @OptionalField(key: "totp_secret") var totpSecret: String?
    @OptionalField(key: "totp_enabled_at") var totpEnabledAt: Date?
    /// The last time step whose code was accepted: a code works once.
    @OptionalField(key: "totp_last_step") var totpLastStep: Int64?

    init() {}

    init(id: UUID? = nil, email: String, name: String, role: Role, passwordHash: String, locale: String) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.locale = locale
        self.active = true
    }
}

extension User {
    /// Sees every job and candidate; hiring managers only see the jobs they are assigned to.
    var seesAllJobs: Bool { role != .hiringManager }
    /// Exports, bulk email, job and user administration.
    var canManage: Bool { role != .hiringManager }
    var isAdmin: Bool { role == .admin }
    var hasSecondFactor: Bool { totpEnabledAt != nil }
    /// Admins may not work without a second factor (ASVS 6.3.3); recruiters choose.
    var mustEnrolSecondFactor: Bool { isAdmin && !hasSecondFactor }
}

/// A single-use code that stands in for the authenticator app when it is lost; only its hash is kept.
final class RecoveryCode: Model, @unchecked Sendable {
    static let schema = "recovery_codes"

    @ID(key: .id) var id: UUID?
    @Parent(key: "user_id") var user: User
    @Field(key: "code_hash") var codeHash: String
    @OptionalField(key: "used_at") var usedAt: Date?

    init() {}

    init(userID: UUID, code: String) {
        self.$user.id = userID
        self.codeHash = RecoveryCode.hash(code)
    }

    /// Codes are 10 random letters and digits (about 50 bits): a plain hash is enough, and lets a login find it.
    static func hash(_ code: String) -> String {
        Tokens.hash(code.uppercased().filter { $0.isLetter || $0.isNumber })
    }

    static func generate() -> [String] {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return (0..<10).map { _ in
            let letters = String((0..<10).map { _ in alphabet.randomElement(using: &generator)! })
            return letters.prefix(5) + "-" + letters.suffix(5)
        }
    }
}

/// A login session. The cookie carries a random token; only its SHA-256 is stored, so a database leak does not
/// leak sessions (ASVS 7.2.3).
final class UserSession: Model, @unchecked Sendable {
    static let schema = "user_sessions"

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Parent(key: "user_id") var user: User
    @Field(key: "csrf_token") var csrfToken: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "last_seen_at") var lastSeenAt: Date

    init() {}

    init(tokenHash: String, userID: UUID, csrfToken: String, now: Date) {
        self.tokenHash = tokenHash
        self.$user.id = userID
        self.csrfToken = csrfToken
        self.createdAt = now
        self.lastSeenAt = now
    }
}

/// A one-time link that creates the first admin of a fresh installation.
final class SetupToken: Model, @unchecked Sendable {
    static let schema = "setup_tokens"

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "used_at") var usedAt: Date?

    init() {}

    init(tokenHash: String, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
    }
}

/// A "forgotten password" link: single use, valid an hour, only its hash stored.
final class PasswordReset: Model, @unchecked Sendable {
    static let schema = "password_resets"
    static let lifetime: TimeInterval = 3600

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "user_id") var user: User
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "used_at") var usedAt: Date?

    init() {}

    init(userID: UUID, tokenHash: String, now: Date) {
        self.$user.id = userID
        self.tokenHash = tokenHash
        self.createdAt = now
        self.expiresAt = now + Self.lifetime
    }
}

/// One counted event for a rate limit (failed login, application from an address). Kept in the database so that
/// several instances share the same limits.
final class RateEvent: Model, @unchecked Sendable {
    static let schema = "rate_events"

    @ID(key: .id) var id: UUID?
    @Field(key: "bucket") var bucket: String
    @Field(key: "key") var key: String
    @Field(key: "at") var at: Date

    init() {}

    init(bucket: String, key: String, at: Date) {
        self.bucket = bucket
        self.key = key
        self.at = at
    }
}

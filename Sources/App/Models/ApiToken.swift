import Fluent
import Vapor

/// A key another system uses to call `/api/v1`. Only the SHA-256 of the token is stored: it is shown once, when
/// an admin creates it, and can only be revoked afterwards.
final class ApiToken: Model, @unchecked Sendable {
    static let schema = "api_tokens"

    /// What a token may do; each scope includes the ones before it.
    enum Scope: String, Codable, CaseIterable, Comparable, Sendable {
        case read, write, admin

        static func < (a: Scope, b: Scope) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "created_by_id") var createdBy: User
    @Field(key: "name") var name: String
    @Enum(key: "scope") var scope: Scope
    /// The SHA-256 of the token (hex).
    @Field(key: "token_hash") var tokenHash: String
    /// The token's first characters, so an admin can tell which one a log or a config file holds.
    @Field(key: "prefix") var prefix: String
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?

    init() {}

    init(name: String, scope: Scope, createdBy: UUID, tokenHash: String, prefix: String, now: Date) {
        self.name = name
        self.scope = scope
        self.$createdBy.id = createdBy
        self.tokenHash = tokenHash
        self.prefix = prefix
        self.createdAt = now
    }

    /// A new token: `viv_` and 256 random bits, and the record that knows it by its hash only.
    static func issue(name: String, scope: Scope, by user: User, now: Date) throws -> (token: String, record: ApiToken)
    {
        let token = "viv_" + Tokens.random()
        let record = ApiToken(
            name: name, scope: scope, createdBy: try user.requireID(), tokenHash: Tokens.hash(token),
            prefix: String(token.prefix(10)), now: now)
        return (token, record)
    }
}

/// The first answer to a POST sent with an `Idempotency-Key`, replayed when the same request comes again.
final class IdempotencyRecord: Model, @unchecked Sendable {
    static let schema = "idempotency_keys"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "token_id") var token: ApiToken
    @Field(key: "key") var key: String
    /// SHA-256 of the method, path and body: the same key with another request is refused.
    @Field(key: "request_hash") var requestHash: String
    /// Nil while the first request is still running.
    @OptionalField(key: "status") var status: Int?
    @OptionalField(key: "content_type") var contentType: String?
    @OptionalField(key: "body") var body: String?

    init() {}

    init(tokenID: UUID, key: String, requestHash: String, now: Date) {
        self.$token.id = tokenID
        self.key = key
        self.requestHash = requestHash
        self.createdAt = now
    }
}

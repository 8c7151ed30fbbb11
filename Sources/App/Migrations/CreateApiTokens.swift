import Fluent

/// API tokens and the idempotency keys of the requests made with them.
struct CreateApiTokens: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ApiToken.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("created_by_id", .uuid, .required, .references(User.schema, "id"))
            .field("name", .string, .required)
            .field("scope", .string, .required)
            .field("token_hash", .string, .required)
            .field("prefix", .string, .required)
            .field("last_used_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await database.schema(IdempotencyRecord.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("token_id", .uuid, .required, .references(ApiToken.schema, "id", onDelete: .cascade))
            .field("key", .string, .required)
            .field("request_hash", .string, .required)
            .field("status", .int)
            .field("content_type", .string)
            .field("body", .string)
            .unique(on: "token_id", "key")
            .create()
        try await database.createIndex(
            "idempotency_keys_created", on: IdempotencyRecord.schema, columns: ["created_at"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(IdempotencyRecord.schema).delete()
        try await database.schema(ApiToken.schema).delete()
    }
}

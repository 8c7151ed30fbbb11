import Fluent

struct CreateUsers: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(User.schema)
            .id()
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .field("email", .string, .required)
            .field("name", .string, .required)
            .field("role", .string, .required)
            .field("password_hash", .string, .required)
            .field("locale", .string, .required)
            .field("active", .bool, .required)
            .unique(on: "email")
            .create()
        try await database.schema(UserSession.schema)
            .id()
            .field("token_hash", .string, .required)
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .field("csrf_token", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_seen_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await database.schema(SetupToken.schema)
            .id()
            .field("token_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await database.schema(RateEvent.schema)
            .id()
            .field("bucket", .string, .required)
            .field("key", .string, .required)
            .field("at", .datetime, .required)
            .create()
        try await database.createIndex("rate_events_lookup", on: RateEvent.schema, columns: ["bucket", "key", "at"])
    }

    func revert(on database: any Database) async throws {
        for schema in [RateEvent.schema, SetupToken.schema, UserSession.schema, User.schema] {
            try await database.schema(schema).delete()
        }
    }
}

import Fluent

struct CreateOutbox: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxMessage.schema)
            .id()
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .field("kind", .string, .required)
            .field("dedupe_key", .string, .required)
            .field("transactional", .bool, .required)
            .field("candidate_id", .uuid, .references(Candidate.schema, .id, onDelete: .setNull))
            .field("sender", .string, .required)
            .field("recipient", .string, .required)
            .field("subject", .string, .required)
            .field("message", .string, .required)
            .field("needs_smtputf8", .bool, .required)
            .field("status", .string, .required)
            .field("attempts", .int, .required)
            .field("next_attempt_at", .datetime, .required)
            .field("lease_until", .datetime)
            .field("claimed_by", .string)
            .field("last_reply", .string)
            .field("sent_at", .datetime)
            .unique(on: "dedupe_key")
            .create()
        try await database.createIndex("outbox_due", on: OutboxMessage.schema, columns: ["status", "next_attempt_at"])
        try await database.schema(Suppression.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("address_hash", .string, .required)
            .field("reason", .string, .required)
            .unique(on: "address_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Suppression.schema).delete()
        try await database.schema(OutboxMessage.schema).delete()
    }
}

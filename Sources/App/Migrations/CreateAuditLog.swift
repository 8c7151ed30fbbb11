import Fluent

/// The audit log: append-only at the engine, one chain ordered by `seq`.
struct CreateAuditLog: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AuditEvent.schema)
            .id()
            .field("seq", .int, .required)
            .field("at", .datetime, .required)
            .field("actor_id", .uuid)
            .field("actor", .string, .required)
            .field("action", .string, .required)
            .field("target", .string, .required)
            .field("detail", .string, .required)
            .field("ip", .string, .required)
            .field("prev_hash", .string, .required)
            .field("hash", .string, .required)
            .unique(on: "seq")
            .create()
        try await AppendOnly.protect(AuditEvent.schema, on: database)
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AuditEvent.schema).delete()
        try await AppendOnly.release(AuditEvent.schema, on: database)
    }
}

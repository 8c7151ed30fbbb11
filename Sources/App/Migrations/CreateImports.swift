import Fluent

/// CSV imports of an existing pool, and the proof of a consent given elsewhere.
struct CreateImports: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ConsentEvent.schema).field("proof", .string).update()
        try await database.schema(PoolImport.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("created_by_id", .uuid, .references(User.schema, "id"))
            .field("filename", .string, .required)
            .field("storage_key", .string, .required)
            .field("mapping", .string, .required)
            .field("send_notice", .bool, .required)
            .field("status", .string, .required)
            .field("total", .int, .required)
            .field("processed", .int, .required)
            .field("created_people", .int, .required)
            .field("merged_people", .int, .required)
            .field("applications", .int, .required)
            .field("report", .string, .required)
            .field("lease_until", .datetime)
            .field("finished_at", .datetime)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(PoolImport.schema).delete()
        try await database.schema(ConsentEvent.schema).deleteField("proof").update()
    }
}

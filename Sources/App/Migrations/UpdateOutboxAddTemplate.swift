import Fluent

/// Which template version a message used, and the application it is about (the follow-up timers read it).
/// One column per statement: SQLite alters a table one column at a time.
struct UpdateOutboxAddTemplate: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxMessage.schema).field("template", .string).update()
        try await database.schema(OutboxMessage.schema).field("application_id", .uuid).update()
        try await database.createIndex("outbox_application", on: OutboxMessage.schema, columns: ["application_id"])
    }

    func revert(on database: any Database) async throws {
        try await database.sql().raw("DROP INDEX IF EXISTS outbox_application").run()
        try await database.schema(OutboxMessage.schema).deleteField("application_id").update()
        try await database.schema(OutboxMessage.schema).deleteField("template").update()
    }
}

import Fluent
import SQLKit

/// Moves each outbox message's rendered body into `outbox_bodies`, one row per message, deleted with it. The worker
/// changes a message's status two or three times; SQLite rewrites a changed row whole, and a row carrying a 4 KB
/// body spans an overflow page that was rewritten (and its old copy freed) at every change.
struct UpdateOutboxSeparateBodies: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxBody.schema)
            .field(.id, .uuid, .identifier(auto: false))
            .field("message", .string, .required)
            .foreignKey(.id, references: OutboxMessage.schema, .id, onDelete: .cascade)
            .create()
        try await UpdateOutboxCompressMessages.useLZ4(on: database, table: OutboxBody.schema)
        try await database.sql().raw("INSERT INTO outbox_bodies (id, message) SELECT id, message FROM outbox").run()
        try await database.schema(OutboxMessage.schema).deleteField("message").update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(OutboxMessage.schema).field("message", .string, .required, .sql(.default("")))
            .update()
        try await database.sql().raw(
            "UPDATE outbox SET message = (SELECT b.message FROM outbox_bodies b WHERE b.id = outbox.id)"
                + " WHERE id IN (SELECT id FROM outbox_bodies)"
        ).run()
        try await database.schema(OutboxBody.schema).delete()
    }
}

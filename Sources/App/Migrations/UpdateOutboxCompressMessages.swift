import Fluent
import SQLKit

/// PostgreSQL compresses a message body (a few kilobytes, over its out-of-line threshold) with pglz by default; lz4
/// does it several times faster, which is most of the time of writing a campaign's 100,000 rows. Servers built
/// without lz4 keep pglz; SQLite does not compress.
struct UpdateOutboxCompressMessages: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await Self.useLZ4(on: database, table: "outbox")
    }

    /// Compresses `table.message` with lz4 where the server has it.
    static func useLZ4(on database: any Database, table: String) async throws {
        guard database.isPostgres else { return }
        struct Row: Decodable { var available: Bool }
        let lz4 =
            try await database.sql().raw(
                "SELECT 'lz4' = ANY(enumvals) AS available FROM pg_settings WHERE name = 'default_toast_compression'"
            ).first(decoding: Row.self)?.available ?? false
        guard lz4 else { return }
        try await database.sql().raw("ALTER TABLE \(ident: table) ALTER COLUMN message SET COMPRESSION lz4").run()
    }

    func revert(on database: any Database) async throws {
        guard database.isPostgres else { return }
        try await database.sql().raw("ALTER TABLE outbox ALTER COLUMN message SET COMPRESSION DEFAULT").run()
    }
}

import Fluent
import FluentSQLiteDriver
import SQLKit
import Vapor

/// The embedded database's durability settings: WAL journal, `synchronous=FULL`, foreign keys on, and
/// `secure_delete` so an erased person's rows are overwritten in the file, not just unlinked. Applied to the
/// connection of every event loop (the SQLite driver keeps one per loop) and read back, so a build of SQLite that
/// ignores them stops the boot instead of silently losing data.
enum SQLiteSettings {
    struct Pragma: Decodable {
        var value: String
    }

    static func apply(_ app: Application) async throws {
        for eventLoop in app.eventLoopGroup.makeIterator() {
            let db = app.databases.database(.sqlite, logger: app.logger, on: eventLoop)!.sql()
            try await db.raw("PRAGMA journal_mode = WAL").run()
            try await db.raw("PRAGMA synchronous = FULL").run()
            try await db.raw("PRAGMA foreign_keys = ON").run()
            try await db.raw("PRAGMA busy_timeout = 5000").run()
            try await db.raw("PRAGMA secure_delete = ON").run()
            // Statistics for the tables that have none or whose size changed a lot (bounded work, as SQLite
            // recommends when opening a connection); the scheduler refreshes them as the data grows.
            try await db.raw("PRAGMA optimize = 0x10002").run()
            // DISTINCT and GROUP BY over a large table build their temporary b-trees in memory, not in a file.
            try await db.raw("PRAGMA temp_store = MEMORY").run()
            // A page cache of up to 32 MB (the default is 2 MB): the outbox's and the people's indexes are
            // written in random order, and each page that falls out of the cache is read back at the next insert.
            try await db.raw("PRAGMA cache_size = -32768").run()
            // Reads through a memory map of the file (up to SQLite's default ceiling, 2 GB) instead of a system
            // call and a copy per page: a segment count reads every person's facts, a fifth faster this way.
            try await db.raw("PRAGMA mmap_size = 2147418112").run()
            // The log is copied into the database every 32 MB instead of 4: pages written again and again (the
            // outbox's status index, a campaign's rows) are copied once per checkpoint, not once per write.
            try await db.raw("PRAGMA wal_autocheckpoint = 8192").run()
            let synchronous = try await db.raw("PRAGMA synchronous").first()?.decode(
                column: "synchronous", as: Int.self)
            let foreignKeys = try await db.raw("PRAGMA foreign_keys").first()?.decode(
                column: "foreign_keys", as: Int.self)
            guard synchronous == 2, foreignKeys == 1 else {
                throw AppConfig.Invalid(
                    variable: "VIVIER_DATABASE_URL", problem: "SQLite refused synchronous=FULL or foreign_keys=ON")
            }
        }
    }

    /// After an erasure: the search index's old segments merged away and the write-ahead log emptied into the
    /// database, so no earlier copy of the person's pages stays in either file.
    static func scrub(_ db: any Database) async throws {
        try await db.sql().raw("INSERT INTO candidate_search (candidate_search) VALUES ('optimize')").run()
        try await db.sql().raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
    }

    static func journalMode(_ db: any Database) async throws -> String? {
        try await db.sql().raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
    }
}

import Fluent
import SQLKit

/// On PostgreSQL, the search index keeps only its `tsvector`: the folded text it was computed from was never read
/// back, and a keyword's people are read from the table's pages (the GIN index gives row positions, not ids), so
/// every byte of text there was read again for each keyword filter of a segment (a third of those pages at a
/// million people). Written by `SearchIndex` as `to_tsvector('simple', text)`. SQLite's FTS5 index is unchanged.
/// Space held by old rows is reused as they are rewritten (or at once by `VACUUM FULL candidate_search`).
struct UpdateSearchIndexDropBody: AsyncMigration {
    func prepare(on database: any Database) async throws {
        guard database.isPostgres else { return }
        let sql = database.sql()
        try await sql.raw("ALTER TABLE candidate_search ALTER COLUMN document DROP EXPRESSION").run()
        try await sql.raw("ALTER TABLE candidate_search ALTER COLUMN document SET NOT NULL").run()
        try await sql.raw("ALTER TABLE candidate_search DROP COLUMN body").run()
    }

    func revert(on database: any Database) async throws {
        guard database.isPostgres else { return }
        // The table as `CreateSearchIndex` made it. The text cannot be recovered from the vector: entries are
        // empty until `SearchIndex.refresh` indexes each person again.
        let sql = database.sql()
        try await sql.raw("ALTER TABLE candidate_search DROP COLUMN document").run()
        try await sql.raw("ALTER TABLE candidate_search ADD COLUMN body text NOT NULL DEFAULT ''").run()
        try await sql.raw(
            """
            ALTER TABLE candidate_search
            ADD COLUMN document tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED
            """
        ).run()
        try await sql.raw("CREATE INDEX candidate_search_document ON candidate_search USING GIN (document)").run()
    }
}

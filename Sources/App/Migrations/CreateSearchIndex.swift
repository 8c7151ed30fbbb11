import Fluent
import SQLKit

/// The candidate search index. Each engine gets its own native full-text structure (FTS5, tsvector) over the same
/// pre-folded text; `SearchIndex` is the one seam that reads and writes it.
struct CreateSearchIndex: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database.sql()
        if database.isPostgres {
            try await sql.raw(
                """
                CREATE TABLE candidate_search (
                    candidate_id uuid PRIMARY KEY REFERENCES candidates(id) ON DELETE CASCADE,
                    body text NOT NULL,
                    document tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED)
                """
            ).run()
            try await sql.raw("CREATE INDEX candidate_search_document ON candidate_search USING GIN (document)").run()
        } else {
            try await sql.raw(
                """
                CREATE VIRTUAL TABLE candidate_search USING fts5(
                    candidate_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')
                """
            ).run()
        }
    }

    func revert(on database: any Database) async throws {
        try await database.sql().raw("DROP TABLE candidate_search").run()
    }
}

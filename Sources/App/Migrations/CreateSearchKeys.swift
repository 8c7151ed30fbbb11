import Fluent
import SQLKit

/// On SQLite, a number per person that is also the rowid of their row in the FTS5 index. FTS5 can only find a row
/// by its words or its rowid: replacing a person's entry by their id read every entry (200 ms at a million
/// people, on every application, note and tag), and a keyword's people were read from the index's stored copy
/// of each id. The rowid turns the first into one lookup and the second into a walk of this narrow table.
/// Since `UpdateCandidateFactsKeyBySearchKey`, every person has a number from the moment their record is written,
/// and their facts row is stored under it too.
/// PostgreSQL's index is a table keyed by the id already: nothing to do there.
struct CreateSearchKeys: AsyncMigration {
    func prepare(on database: any Database) async throws {
        guard !database.isPostgres else { return }
        let sql = database.sql()
        try await sql.raw(
            """
            CREATE TABLE search_keys (
                key INTEGER PRIMARY KEY,
                candidate_id UUID NOT NULL UNIQUE REFERENCES candidates(id) ON DELETE CASCADE)
            """
        ).run()
        // The entries written so far keep their rowids; a person indexed twice keeps one entry.
        try await sql.raw(
            """
            INSERT OR IGNORE INTO search_keys (key, candidate_id)
            SELECT s.rowid, c.id FROM candidate_search s JOIN candidates c ON c.id = UPPER(s.candidate_id)
            """
        ).run()
        try await sql.raw("DELETE FROM candidate_search WHERE rowid NOT IN (SELECT key FROM search_keys)").run()
    }

    func revert(on database: any Database) async throws {
        guard !database.isPostgres else { return }
        try await database.sql().raw("DROP TABLE search_keys").run()
    }
}

import Fluent
import SQLKit

/// Lookups by person that every application runs and that read whole tables: the people merged into someone
/// (the consent ledger's refresh; 64 ms per application on SQLite at a million people), and a person's notes and
/// documents (the search index's refresh). Only merged people are in the first index, so it stays tiny.
struct CreatePersonIndexes: AsyncMigration {
    func prepare(on database: any Database) async throws {
        let sql = database.sql()
        try await sql.raw(
            "CREATE INDEX candidates_merged_into ON candidates (merged_into_id) WHERE merged_into_id IS NOT NULL"
        ).run()
        try await database.createIndex("notes_candidate", on: Note.schema, columns: ["candidate_id"])
        try await database.createIndex("documents_candidate", on: Document.schema, columns: ["candidate_id"])
    }

    func revert(on database: any Database) async throws {
        for name in ["candidates_merged_into", "notes_candidate", "documents_candidate"] {
            try await database.sql().raw("DROP INDEX \(unsafeRaw: name)").run()
        }
    }
}

import Fluent

/// On SQLite, a person's facts row is stored under their number in the search index (`search_keys.key`, the rowid
/// of their FTS5 entry), their id kept unique beside it. A keyword filter then reads the index's rowids and finds
/// the facts by them, instead of turning each rowid into an id through `search_keys` and looking the id up: at a
/// million people, the 77,000 people holding "python" were 77,000 reads of each table (half of such a count).
/// A count split into lanes splits the numbers, and each lane asks the index only for its own.
/// Every person gets a number now, and each new one with their record. PostgreSQL has its own second form (see
/// `UpdateCandidateFactsAddSearchWords`).
struct UpdateCandidateFactsKeyBySearchKey: AsyncMigration {
    func prepare(on database: any Database) async throws {
        guard !database.isPostgres else { return }
        try await CreateCandidateFacts(revised: false).revert(on: database)
        try await CreateCandidateFacts(revised: true).prepare(on: database)
    }

    func revert(on database: any Database) async throws {
        guard !database.isPostgres else { return }
        try await CreateCandidateFacts(revised: true).revert(on: database)
        try await CreateCandidateFacts(revised: false).prepare(on: database)
    }
}

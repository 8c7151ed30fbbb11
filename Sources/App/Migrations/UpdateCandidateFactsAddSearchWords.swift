import Fluent

/// On PostgreSQL, a person's facts row holds the words of their search entry, under a GIN index, kept right by a
/// trigger on the search index. A keyword filter is then a condition on the facts like any other: alone or with
/// other conditions, the index finds the matching rows (the 77,000 people holding "python" of a million), instead of
/// a list of them built from the search index and looked up during a pass over every person's facts (about 250 ms
/// a count, most of it the pass). SQLite is unchanged: its facts are found by the search index's numbers already.
struct UpdateCandidateFactsAddSearchWords: AsyncMigration {
    func prepare(on database: any Database) async throws {
        guard database.isPostgres else { return }
        try await CreateCandidateFacts(revised: false).revert(on: database)
        try await CreateCandidateFacts(revised: true).prepare(on: database)
    }

    func revert(on database: any Database) async throws {
        guard database.isPostgres else { return }
        try await CreateCandidateFacts(revised: true).revert(on: database)
        try await CreateCandidateFacts(revised: false).prepare(on: database)
    }
}

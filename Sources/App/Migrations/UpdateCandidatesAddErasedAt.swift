import Fluent

/// When a person was erased: their record stays, emptied, so the statistics they were part of stay right.
struct UpdateCandidatesAddErasedAt: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Candidate.schema).field("erased_at", .datetime).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Candidate.schema).deleteField("erased_at").update()
    }
}

import Fluent
import SQLKit

/// How often a subscriber wants the newsletter: every issue (about every two weeks) or a monthly digest.
struct UpdateCandidatesAddRhythm: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Candidate.schema)
            .field("newsletter_rhythm", .string, .required, .sql(.default(SQLLiteral.string("biweekly")))).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Candidate.schema).deleteField("newsletter_rhythm").update()
    }
}

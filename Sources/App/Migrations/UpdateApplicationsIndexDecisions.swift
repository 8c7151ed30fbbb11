import Fluent
import SQLKit

/// The recent first decisions in an index of their own, holding what the acknowledgement's practised delay reads.
/// Every application runs that read; without this index SQLite walked every application of the last 90 days,
/// decided or not, so intake slowed as applications piled up.
struct UpdateApplicationsIndexDecisions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.sql().raw(
            """
            CREATE INDEX applications_decided ON applications (created_at, job_id, first_decision_at)
            WHERE first_decision_at IS NOT NULL
            """
        ).run()
    }

    func revert(on database: any Database) async throws {
        try await database.sql().raw("DROP INDEX applications_decided").run()
    }
}

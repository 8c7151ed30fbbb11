import Fluent
import SQLKit

/// Whether a job sends "still in progress" updates on its own; on for existing jobs.
struct UpdateJobsAddAutoUpdates: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Job.schema)
            .field("auto_updates", .bool, .required, .sql(.default(SQLLiteral.boolean(true)))).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Job.schema).deleteField("auto_updates").update()
    }
}

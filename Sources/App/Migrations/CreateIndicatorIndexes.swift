import Fluent
import SQLKit

/// What the indicators read most: applications by date, an application's timeline by kind, the consent events of
/// one purpose.
struct CreateIndicatorIndexes: AsyncMigration {
    static let indexes: [(String, String, [String])] = [
        ("applications_created", JobApplication.schema, ["created_at"]),
        ("interactions_application", Interaction.schema, ["application_id", "kind", "created_at"]),
        ("consent_events_purpose", ConsentEvent.schema, ["purpose", "candidate_id", "created_at"]),
        ("interviews_start", Interview.schema, ["starts_at"]),
    ]

    func prepare(on database: any Database) async throws {
        for (name, table, columns) in Self.indexes {
            try await database.createIndex(name, on: table, columns: columns)
        }
    }

    func revert(on database: any Database) async throws {
        for (name, _, _) in Self.indexes {
            try await database.sql().raw("DROP INDEX IF EXISTS \(ident: name)").run()
        }
    }
}

import Fluent

/// The date promised to the candidate in the acknowledgement, so that keeping promises can be measured.
/// One column per statement: SQLite alters a table one column at a time.
struct UpdateApplicationsAddPromise: AsyncMigration {
    static let fields: [(FieldKey, DatabaseSchema.DataType)] = [
        ("promised_by", .datetime), ("promised_working_days", .int), ("promise_basis", .string),
    ]

    func prepare(on database: any Database) async throws {
        for (key, type) in Self.fields {
            try await database.schema(JobApplication.schema).field(key, type).update()
        }
    }

    func revert(on database: any Database) async throws {
        for (key, _) in Self.fields.reversed() {
            try await database.schema(JobApplication.schema).deleteField(key).update()
        }
    }
}

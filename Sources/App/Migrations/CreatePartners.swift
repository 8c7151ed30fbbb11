import Fluent

struct CreatePartners: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Partner.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("company", .string, .required)
            .field("name", .string, .required)
            .field("email", .string, .required)
            .field("language", .string, .required)
            .field("active", .bool, .required)
            .unique(on: "email")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Partner.schema).delete()
    }
}

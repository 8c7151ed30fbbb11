import Fluent

struct CreateMessageTemplates: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TemplateVersion.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("created_by", .uuid, .references(User.schema, .id, onDelete: .setNull))
            .field("kind", .string, .required)
            .field("language", .string, .required)
            .field("scope", .string, .required)
            .field("version", .int, .required)
            .field("subject", .string, .required)
            .field("body", .string, .required)
            .unique(on: "kind", "language", "scope", "version")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(TemplateVersion.schema).delete()
    }
}

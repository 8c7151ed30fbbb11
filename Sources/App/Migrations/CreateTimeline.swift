import Fluent

struct CreateTimeline: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Interaction.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("application_id", .uuid, .references(JobApplication.schema, .id, onDelete: .cascade))
            .field("actor_id", .uuid, .references(User.schema, .id, onDelete: .setNull))
            .field("kind", .string, .required)
            .field("detail", .string, .required)
            .create()
        try await database.createIndex(
            "interactions_candidate", on: Interaction.schema, columns: ["candidate_id", "created_at"])
        try await database.schema(Note.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("author_id", .uuid, .references(User.schema, .id, onDelete: .setNull))
            .field("body", .string, .required)
            .create()
        try await database.schema(Tag.schema)
            .id()
            .field("name", .string, .required)
            .unique(on: "name")
            .create()
        try await database.schema(CandidateTag.schema)
            .id()
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("tag_id", .uuid, .required, .references(Tag.schema, .id, onDelete: .cascade))
            .unique(on: "candidate_id", "tag_id")
            .create()
    }

    func revert(on database: any Database) async throws {
        for schema in [CandidateTag.schema, Tag.schema, Note.schema, Interaction.schema] {
            try await database.schema(schema).delete()
        }
    }
}

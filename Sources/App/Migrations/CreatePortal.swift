import Fluent

/// The candidate portal's magic links, the register of used single-use links, preparation resources and survey
/// answers.
struct CreatePortal: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(PortalLink.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("token_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await database.schema(UsedToken.schema)
            .id()
            .field("token_hash", .string, .required)
            .field("used_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        try await database.schema(PrepResource.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("title", .string, .required)
            .field("summary", .string, .required)
            .field("body", .string, .required)
            .field("url", .string, .required)
            .field("stage_kind", .string, .required)
            .field("job_id", .uuid, .references(Job.schema, .id, onDelete: .cascade))
            .field("language", .string, .required)
            .create()
        try await database.schema(SurveyAnswer.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("job_id", .uuid, .references(Job.schema, .id, onDelete: .setNull))
            .field("outcome", .string, .required)
            .field("score", .int, .required)
            .field("comment", .string, .required)
            .field("application_hash", .string, .required)
            .unique(on: "application_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        for schema in [SurveyAnswer.schema, PrepResource.schema, UsedToken.schema, PortalLink.schema] {
            try await database.schema(schema).delete()
        }
    }
}

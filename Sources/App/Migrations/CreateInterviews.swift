import Fluent

struct CreateInterviews: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Interview.schema)
            .id()
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .field("application_id", .uuid, .required, .references(JobApplication.schema, .id, onDelete: .cascade))
            .field("uid", .string, .required)
            .field("sequence", .int, .required)
            .field("status", .string, .required)
            .field("starts_at", .datetime, .required)
            .field("duration_minutes", .int, .required)
            .field("time_zone", .string, .required)
            .field("location", .string, .required)
            .field("video_url", .string, .required)
            .field("interviewers", .string, .required)
            .unique(on: "uid")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(Interview.schema).delete()
    }
}

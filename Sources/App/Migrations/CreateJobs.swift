import Fluent
import VivierCore

struct CreateJobs: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Job.schema)
            .id()
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .field("published_at", .datetime)
            .field("title", .string, .required)
            .field("slug", .string, .required)
            .field("department", .string, .required)
            .field("location", .string, .required)
            .field("contract_type", .string, .required)
            .field("remote_policy", .string, .required)
            .field("description", .string, .required)
            .field("language", .string, .required)
            .field("status", .string, .required)
            .field("response_target_days", .int, .required)
            .unique(on: "slug")
            .create()
        try await database.schema(JobMember.schema)
            .id()
            .field("job_id", .uuid, .required, .references(Job.schema, .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references(User.schema, .id, onDelete: .cascade))
            .unique(on: "job_id", "user_id")
            .create()
        try await database.schema(Stage.schema)
            .id()
            .field("job_id", .uuid, .required, .references(Job.schema, .id, onDelete: .cascade))
            .field("position", .int, .required)
            .field("name_fr", .string, .required)
            .field("name_en", .string, .required)
            .field("kind", .string, .required)
            .create()
        try await database.createIndex("stages_job", on: Stage.schema, columns: ["job_id", "position"])
        try await database.schema(PipelineTemplateStage.schema)
            .id()
            .field("position", .int, .required)
            .field("name_fr", .string, .required)
            .field("name_en", .string, .required)
            .field("kind", .string, .required)
            .create()
        for (position, template) in StageTemplate.defaultPipeline.enumerated() {
            try await PipelineTemplateStage(position: position, template: template).create(on: database)
        }
    }

    func revert(on database: any Database) async throws {
        for schema in [PipelineTemplateStage.schema, Stage.schema, JobMember.schema, Job.schema] {
            try await database.schema(schema).delete()
        }
    }
}

import Fluent

struct CreateCandidates: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Candidate.schema)
            .id()
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .field("last_active_contact_at", .datetime)
            .field("merged_into_id", .uuid, .references(Candidate.schema, .id, onDelete: .setNull))
            .field("email", .string, .required)
            .field("first_name", .string, .required)
            .field("last_name", .string, .required)
            .field("phone", .string, .required)
            .field("language", .string, .required)
            .create()
        // Merged records keep their address until erased, so uniqueness covers live people only: a partial index
        // on both engines.
        try await database.sql().raw(
            "CREATE UNIQUE INDEX candidates_email ON candidates (email) WHERE merged_into_id IS NULL"
        ).run()
        try await database.schema(JobApplication.schema)
            .id()
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("job_id", .uuid, .references(Job.schema, .id, onDelete: .restrict))
            .field("stage_id", .uuid, .references(Stage.schema, .id, onDelete: .restrict))
            .field("stage_entered_at", .datetime, .required)
            .field("outcome", .string, .required)
            .field("closing_reason", .string)
            .field("decided_at", .datetime)
            .field("source", .string, .required)
            .field("source_detail", .string, .required)
            .field("cover_letter", .string, .required)
            .field("submission_token", .string)
            .unique(on: "submission_token")
            .unique(on: "candidate_id", "job_id")
            .create()
        try await database.createIndex("applications_job", on: JobApplication.schema, columns: ["job_id", "outcome"])
        try await database.schema(Document.schema)
            .id()
            .field("created_at", .datetime)
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("application_id", .uuid, .references(JobApplication.schema, .id, onDelete: .setNull))
            .field("kind", .string, .required)
            .field("original_name", .string, .required)
            .field("storage_key", .string, .required)
            .field("size", .int, .required)
            .field("sha256", .string, .required)
            .field("text", .string, .required)
            .unique(on: "storage_key")
            .create()
    }

    func revert(on database: any Database) async throws {
        for schema in [Document.schema, JobApplication.schema, Candidate.schema] {
            try await database.schema(schema).delete()
        }
    }
}

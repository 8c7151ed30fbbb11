import Fluent
import SQLKit

/// The talent pool's sending side: saved segments, newsletter series, campaigns and what recipients did with them;
/// the current consent per person kept beside the ledger for segment queries; newsletter consent per series.
struct CreateCampaigns: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ConsentEvent.schema).field("series_id", .uuid).update()
        try await database.schema(ConsentState.schema)
            .id()
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("purpose", .string, .required)
            .field("series", .string, .required)
            .field("action", .string, .required)
            .field("at", .datetime, .required)
            .unique(on: "candidate_id", "purpose", "series")
            .create()
        try await database.createIndex(
            "consent_states_purpose", on: ConsentState.schema, columns: ["purpose", "action", "candidate_id"])
        try await database.schema(Candidate.schema)
            .field("location", .string, .required, .sql(.default(SQLLiteral.string("")))).update()

        try await database.schema(Segment.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime)
            .field("name", .string, .required)
            .field("definition", .string, .required)
            .create()
        try await database.schema(NewsletterSeries.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("name", .string, .required)
            .field("description", .string, .required)
            .field("cadence", .string, .required)
            .field("weekday", .int, .required)
            .field("hour", .int, .required)
            .field("time_zone", .string, .required)
            .field("offers_digest", .bool, .required)
            .field("segment_id", .uuid, .references(Segment.schema, .id, onDelete: .setNull))
            .field("last_digest_month", .string)
            .create()
        try await database.schema(Campaign.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime)
            .field("name", .string, .required)
            .field("kind", .string, .required)
            .field("purpose", .string, .required)
            .field("series_id", .uuid, .references(NewsletterSeries.schema, .id, onDelete: .setNull))
            .field("job_id", .uuid, .references(Job.schema, .id, onDelete: .setNull))
            .field("segment_id", .uuid, .references(Segment.schema, .id, onDelete: .setNull))
            .field("subject_fr", .string, .required)
            .field("body_fr", .string, .required)
            .field("subject_en", .string, .required)
            .field("body_en", .string, .required)
            .field("track_opens", .bool, .required)
            .field("status", .string, .required)
            .field("scheduled_at", .datetime)
            .field("not_after", .datetime)
            .field("started_at", .datetime)
            .field("enqueued_at", .datetime)
            .field("finished_at", .datetime)
            .field("recipients", .int, .required)
            .create()
        try await database.schema(CampaignTarget.schema)
            .id()
            .field("campaign_id", .uuid, .required, .references(Campaign.schema, .id, onDelete: .cascade))
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("score", .int, .required)
            .field("reasons", .string, .required)
            .unique(on: "campaign_id", "candidate_id")
            .create()
        try await database.schema(CampaignLink.schema)
            .id()
            .field("campaign_id", .uuid, .required, .references(Campaign.schema, .id, onDelete: .cascade))
            .field("position", .int, .required)
            .field("url", .string, .required)
            .unique(on: "campaign_id", "position")
            .create()
        try await database.schema(CampaignEvent.schema)
            .id()
            .field("at", .datetime, .required)
            .field("campaign_id", .uuid, .required, .references(Campaign.schema, .id, onDelete: .cascade))
            .field("outbox_id", .uuid, .required)
            .field("candidate_id", .uuid, .references(Candidate.schema, .id, onDelete: .setNull))
            .field("kind", .string, .required)
            .field("link_position", .int)
            .create()
        try await database.createIndex(
            "campaign_events_campaign", on: CampaignEvent.schema, columns: ["campaign_id", "kind", "outbox_id"])
        try await database.createIndex(
            "campaign_events_candidate", on: CampaignEvent.schema, columns: ["candidate_id", "kind", "at"])

        // One column per statement: SQLite adds a single column per ALTER TABLE.
        for (name, type) in [
            ("campaign_id", DatabaseSchema.DataType.uuid), ("consent_purpose", .string), ("consent_series", .uuid),
            ("not_after", .datetime),
        ] {
            try await database.schema(OutboxMessage.schema).field(.string(name), type).update()
        }
        try await database.createIndex("outbox_campaign", on: OutboxMessage.schema, columns: ["campaign_id", "status"])
        // What segment conditions look up: people with a tag, with an outcome, speaking a language.
        try await database.createIndex(
            "candidate_tags_tag", on: CandidateTag.schema, columns: ["tag_id", "candidate_id"])
        try await database.createIndex(
            "applications_outcome", on: JobApplication.schema, columns: ["outcome", "candidate_id"])
        try await database.createIndex("candidates_language", on: Candidate.schema, columns: ["language"])
    }

    func revert(on database: any Database) async throws {
        for schema in [
            CampaignEvent.schema, CampaignLink.schema, CampaignTarget.schema, Campaign.schema,
            NewsletterSeries.schema, Segment.schema, ConsentState.schema,
        ] {
            try await database.schema(schema).delete()
        }
    }
}

import Fluent

/// Outgoing webhooks and their deliveries.
struct CreateWebhooks: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(Webhook.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("created_by_id", .uuid, .references(User.schema, "id"))
            .field("url", .string, .required)
            .field("description", .string, .required)
            .field("events", .string, .required)
            .field("secret", .string, .required)
            .field("active", .bool, .required)
            .create()
        try await database.schema(WebhookDelivery.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("webhook_id", .uuid, .required, .references(Webhook.schema, "id", onDelete: .cascade))
            .field("event", .string, .required)
            .field("payload", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int, .required)
            .field("next_attempt_at", .datetime, .required)
            .field("lease_until", .datetime)
            .field("last_status", .int)
            .field("last_error", .string)
            .field("delivered_at", .datetime)
            .create()
        try await database.createIndex(
            "webhook_deliveries_due", on: WebhookDelivery.schema, columns: ["status", "next_attempt_at"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(WebhookDelivery.schema).delete()
        try await database.schema(Webhook.schema).delete()
    }
}

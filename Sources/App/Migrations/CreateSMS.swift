import Fluent
import Foundation

/// The text-message queue, and the wording of the consent to interview reminders by text.
struct CreateSMS: AsyncMigration {
    static let wordings: [(locale: String, text: String)] = [
        ("fr", "Recevoir par SMS un rappel la veille de mes entretiens (répondez STOP pour arrêter)."),
        ("en", "Receive a text message reminder the day before my interviews (reply STOP to stop)."),
    ]

    func prepare(on database: any Database) async throws {
        try await database.schema(SMSMessage.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .cascade))
            .field("kind", .string, .required)
            .field("dedupe_key", .string, .required)
            .field("phone", .string, .required)
            .field("text", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int, .required)
            .field("send_at", .datetime, .required)
            .field("sent_at", .datetime)
            .field("provider_id", .string)
            .field("last_error", .string)
            .unique(on: "dedupe_key")
            .create()
        try await database.createIndex("sms_due", on: SMSMessage.schema, columns: ["status", "send_at"])
        for wording in Self.wordings {
            try await ConsentWording(
                purpose: .smsReminders, version: 1, locale: wording.locale, text: wording.text, at: Date()
            ).create(on: database)
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema(SMSMessage.schema).delete()
    }
}

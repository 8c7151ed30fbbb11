import Fluent
import Foundation
import SQLKit
import VivierCore

struct CreateConsentLedger: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ConsentWording.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("purpose", .string, .required)
            .field("version", .int, .required)
            .field("locale", .string, .required)
            .field("text", .string, .required)
            .unique(on: "purpose", "version", "locale")
            .create()
        try await database.schema(ConsentEvent.schema)
            .id()
            .field("created_at", .datetime, .required)
            .field("candidate_id", .uuid, .required, .references(Candidate.schema, .id, onDelete: .restrict))
            .field("purpose", .string, .required)
            .field("action", .string, .required)
            .field("channel", .string, .required)
            .field("wording_version", .int, .required)
            .field("locale", .string, .required)
            .create()
        try await database.createIndex(
            "consent_events_candidate", on: ConsentEvent.schema, columns: ["candidate_id", "purpose", "created_at"])

        // The ledger is proof: the engine itself refuses to rewrite it, whatever the code above it does.
        for table in [ConsentEvent.schema, ConsentWording.schema] {
            try await AppendOnly.protect(table, on: database)
        }
        let now = Date()
        for wording in ConsentWording.initial {
            try await ConsentWording(
                purpose: wording.purpose, version: 1, locale: wording.locale, text: wording.text, at: now
            ).create(on: database)
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ConsentEvent.schema).delete()
        try await database.schema(ConsentWording.schema).delete()
        for table in [ConsentEvent.schema, ConsentWording.schema] {
            try await AppendOnly.release(table, on: database)
        }
    }
}

extension ConsentWording {
    /// Version 1 of the wordings on the apply form.
    static let initial: [(purpose: ConsentPurpose, locale: String, text: String)] = [
        (
            .talentPool, "fr",
            "Conserver mon profil dans le vivier de talents pendant 2 ans pour être recontacté(e) pour d'autres offres."
        ),
        (.talentPool, "en", "Keep my profile in the talent pool for 2 years so I can be contacted about other jobs."),
        (
            .newsletter, "fr",
            "Recevoir la lettre d'information (offres et actualités de l'entreprise, au plus deux fois par mois)."
        ),
        (.newsletter, "en", "Receive the newsletter (jobs and company news, at most twice a month)."),
        (
            .partnerSharing, "fr",
            "Partager mon CV avec des entreprises partenaires susceptibles de me proposer un poste."
        ),
        (.partnerSharing, "en", "Share my CV with partner companies that may offer me a job."),
        (.jobAlerts, "fr", "Recevoir par email les nouvelles offres correspondant à mon profil."),
        (.jobAlerts, "en", "Receive new jobs matching my profile by email."),
    ]
}

/// Tables the engine itself keeps append-only: a trigger refuses every UPDATE and DELETE, whatever the code does.
enum AppendOnly {
    static func protect(_ table: String, on database: any Database) async throws {
        let sql = database.sql()
        if database.isPostgres {
            try await sql.raw(
                """
                CREATE FUNCTION \(unsafeRaw: table)_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '\(unsafeRaw: table) is append-only'; END $$
                """
            ).run()
            try await sql.raw(
                """
                CREATE TRIGGER \(unsafeRaw: table)_append_only BEFORE UPDATE OR DELETE ON \(unsafeRaw: table)
                FOR EACH ROW EXECUTE FUNCTION \(unsafeRaw: table)_append_only()
                """
            ).run()
        } else {
            for operation in ["UPDATE", "DELETE"] {
                try await sql.raw(
                    """
                    CREATE TRIGGER \(unsafeRaw: table)_no_\(unsafeRaw: operation.lowercased()) BEFORE \(unsafeRaw: operation) ON \(unsafeRaw: table)
                    BEGIN SELECT RAISE(ABORT, '\(unsafeRaw: table) is append-only'); END
                    """
                ).run()
            }
        }
    }

    /// After the table itself is dropped (a migration's revert).
    static func release(_ table: String, on database: any Database) async throws {
        if database.isPostgres {
            try await database.sql().raw("DROP FUNCTION \(unsafeRaw: table)_append_only()").run()
        }
    }
}

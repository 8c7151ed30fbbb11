import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
import VivierCore

@testable import App

@Suite("Storage on both engines")
struct StorageTests {
    @Test func migrations_runFromEmptyAndRevertCleanly() async throws {
        try await withApp { app, _ in
            #expect(try await PipelineTemplateStage.query(on: app.db).count() == 6)
            #expect(try await ConsentWording.query(on: app.db).count() == 10)
            try await app.autoRevert()
            try await app.autoMigrate()
            #expect(try await PipelineTemplateStage.query(on: app.db).count() == 6)
        }
    }

    @Test func sqlite_runsInWALWithFullSyncAndForeignKeys() async throws {
        try await withApp { app, _ in
            guard !isPostgresRun else { return }
            #expect(try await SQLiteSettings.journalMode(app.db) == "wal")
            let sync = try await app.db.sql().raw("PRAGMA synchronous").first()?.decode(
                column: "synchronous", as: Int.self)
            #expect(sync == 2)
            let fk = try await app.db.sql().raw("PRAGMA foreign_keys").first()?.decode(
                column: "foreign_keys", as: Int.self)
            #expect(fk == 1)
        }
    }

    /// The lookups by person that every application runs read an index, not the whole table (at a million people
    /// a whole-table read cost 64 ms per application). PostgreSQL is asked with sequential scans discouraged, as
    /// its planner prefers them on the test's near-empty tables.
    @Test func lookupsByPerson_readAnIndex() async throws {
        try await withApp { app, _ in
            let id = UUID()
            let lookups: [(sql: SQLQueryString, index: String)] = [
                ("SELECT id FROM candidates WHERE merged_into_id = \(bind: id)", "candidates_merged_into"),
                ("SELECT id FROM notes WHERE candidate_id = \(bind: id)", "notes_candidate"),
                ("SELECT id FROM documents WHERE candidate_id = \(bind: id)", "documents_candidate"),
            ]
            for lookup in lookups {
                let plan: String
                if isPostgresRun {
                    struct Line: Decodable {
                        var plan: String
                        enum CodingKeys: String, CodingKey { case plan = "QUERY PLAN" }
                    }
                    plan = try await app.db.transaction { db in
                        try await db.sql().raw("SET LOCAL enable_seqscan = off").run()
                        return try await db.sql().raw("EXPLAIN \(lookup.sql)").all(decoding: Line.self)
                            .map(\.plan).joined(separator: "\n")
                    }
                } else {
                    struct Line: Decodable { var detail: String }
                    plan = try await app.db.sql().raw("EXPLAIN QUERY PLAN \(lookup.sql)").all(decoding: Line.self)
                        .map(\.detail).joined(separator: "\n")
                }
                #expect(plan.contains(lookup.index), "\(plan)")
            }
        }
    }

    @Test func consentLedger_refusesUpdatesAndDeletesInTheDatabase() async throws {
        try await withApp { app, _ in
            let candidate = Candidate(email: "a@example.com", firstName: "A", lastName: "B", phone: "", language: .fr)
            try await candidate.create(on: app.db)
            let event = ConsentEvent(
                candidateID: try candidate.requireID(), purpose: .newsletter, action: .granted, channel: .careerForm,
                wordingVersion: 1, locale: "fr", at: Date())
            try await event.create(on: app.db)
            await #expect(throws: (any Error).self) {
                try await app.db.sql().raw("UPDATE consent_events SET action = 'withdrawn'").run()
            }
            await #expect(throws: (any Error).self) { try await app.db.sql().raw("DELETE FROM consent_events").run() }
            await #expect(throws: (any Error).self) {
                try await app.db.sql().raw("UPDATE consent_wordings SET text = 'changed'").run()
            }
            #expect(try await ConsentEvent.query(on: app.db).first()?.action == .granted)
        }
    }

    @Test func uniqueEmailIsEnforcedByTheDatabase() async throws {
        try await withApp { app, _ in
            try await Candidate(email: "a@example.com", firstName: "A", lastName: "B", phone: "", language: .fr).create(
                on: app.db)
            await #expect(throws: (any Error).self) {
                try await Candidate(email: "A@Example.com", firstName: "C", lastName: "D", phone: "", language: .fr)
                    .create(on: app.db)
            }
        }
    }

    @Test func demo_loadsSixJobsAndThreeHundredCandidatesAtEveryStage() async throws {
        try await withApp { app, _ in
            try await DemoData.load(on: app.db, config: app.config, now: app.clock.now())
            #expect(try await Job.query(on: app.db).count() == 6)
            #expect(try await Candidate.query(on: app.db).count() == 300)
            let applications = try await JobApplication.query(on: app.db).with(\.$stage).all()
            #expect(Set(applications.compactMap { $0.stage?.kind }) == Set(StageKind.allCases))
            #expect(Set(applications.map(\.outcome)) == [.active, .rejected, .withdrawn, .hired])
            #expect(try await Note.query(on: app.db).count() > 50)
            #expect(try await CandidateTag.query(on: app.db).count() > 100)
            #expect(try await SearchIndex.search("helene", on: app.db).count > 0)
            // Realistic French names with accents are there.
            #expect(
                try await Candidate.query(on: app.db).all().contains {
                    $0.firstName.contains("é") || $0.lastName.contains("è")
                })
        }
    }
}

import Fluent
import Foundation
import SQLKit
import Testing
import Vapor

@testable import App

@Suite("The audit log: what is recorded, and a chain that shows any change")
struct AuditTests {
    @Test func sensitiveActions_areRecorded_withIdsNotPersonalData() async throws {
        try await withApp { app, _ in
            let admin = try await Fixtures.user(app, "admin@example.com", role: .admin)
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let candidate = try #require(try await Candidate.query(on: app.db).first())
            let candidateID = try candidate.requireID().uuidString.lowercased()
            let document = try #require(try await Document.query(on: app.db).first())

            let intruder = Browser(app)
            try await intruder.open("/login")
            _ = try await intruder.post("/login", [("email", "admin@example.com"), ("password", "wrong horse")])
            _ = try await intruder.post("/login", [("email", "hunter2-typed-here"), ("password", "x")])

            let browser = Browser(app)
            try await browser.login("admin@example.com")
            _ = try await browser.get(SiteURL.document(try document.requireID()))
            _ = try await browser.get(SiteURL.candidate(candidate.requireID()) + "/export")
            try await browser.open("/app/users")
            _ = try await browser.post(
                "/app/users",
                [
                    ("name", "Léa"), ("email", "lea@example.com"), ("role", "recruiter"),
                    ("password", "long enough pass"),
                ])
            let lea = try #require(try await User.query(on: app.db).filter(\.$email == "lea@example.com").first())
            try await browser.open("/app/users")
            _ = try await browser.post(SiteURL.user(lea.requireID()), [("role", "hiring_manager")])
            try await browser.open(SiteURL.candidate(candidate.requireID()))
            _ = try await browser.post(SiteURL.candidate(candidate.requireID()) + "/erase", [])
            let page = try await browser.get("/app/audit")
            #expect(page.status == .ok && page.body.contains("Chaîne intacte : 8 événements vérifiés."))
            #expect(
                page.body.contains("Effacement d&#39;une personne") || page.body.contains("Effacement d'une personne"))
            _ = try await browser.post("/logout", [])

            let events = try await AuditEvent.query(on: app.db).sort(\.$seq).all()
            let adminTarget = "user:\(try admin.requireID().uuidString.lowercased())"
            let lines = events.map { "\($0.actor) \($0.action) \($0.target) \($0.detail)" }
            #expect(
                lines == [
                    "admin@example.com login_failed \(adminTarget) ",
                    "unknown account login_failed  ",
                    "admin@example.com login \(adminTarget) with app",
                    "admin@example.com cv_downloaded document:\(try document.requireID().uuidString.lowercased()) candidate:\(candidateID)",
                    "admin@example.com candidate_exported candidate:\(candidateID) ",
                    "admin@example.com user_created user:\(try lea.requireID().uuidString.lowercased()) role=recruiter",
                    "admin@example.com user_changed user:\(try lea.requireID().uuidString.lowercased()) role=recruiter active=true → role=hiring_manager active=false",
                    "admin@example.com candidate_erased candidate:\(candidateID) ",
                    "admin@example.com logout \(adminTarget) ",
                ], "\(lines.joined(separator: "\n"))")
            // Nothing of the candidate, no password, not even a mistyped one.
            let all = lines.joined(separator: "\n")
            for secret in ["helene", "Hélène", "wrong horse", "hunter2", "long enough pass"] {
                #expect(!all.contains(secret), "\(secret) is in the audit log")
            }
            #expect(try await AuditLog.verify(on: app.db) == .intact(events: 9))
        }
    }

    @Test func theChain_refusesChanges_andShowsATamperedOrMissingLine() async throws {
        try await withApp { app, clock in
            // Writers racing for the end of the chain: each lands once, in one order.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await AuditLog.record(
                            .settingsChanged, actor: nil, label: "test", target: "settings:\(index)", ip: "",
                            on: app.db, now: clock.now())
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await AuditLog.verify(on: app.db) == .intact(events: 20))
            let sql = app.db.sql()
            // The engine refuses to rewrite or remove a line.
            await #expect(throws: (any Error).self) {
                try await sql.raw("UPDATE audit_events SET detail = 'x' WHERE seq = 5").run()
            }
            await #expect(throws: (any Error).self) {
                try await sql.raw("DELETE FROM audit_events WHERE seq = 5").run()
            }

            // Someone with the database's owner rights goes around the trigger: the chain shows it.
            if app.db.isPostgres {
                try await sql.raw("ALTER TABLE audit_events DISABLE TRIGGER USER").run()
            } else {
                try await sql.raw("DROP TRIGGER audit_events_no_update").run()
                try await sql.raw("DROP TRIGGER audit_events_no_delete").run()
            }
            try await sql.raw("UPDATE audit_events SET detail = 'nothing happened' WHERE seq = 7").run()
            #expect(try await AuditLog.verify(on: app.db) == .broken(seq: 7, reason: "was altered"))
            try await sql.raw("DELETE FROM audit_events WHERE seq >= 7 AND seq <= 7").run()
            #expect(try await AuditLog.verify(on: app.db) == .broken(seq: 7, reason: "event 7 is missing"))
        }
    }
}

import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
import VivierCore

@testable import App

@Suite("Recruiter work: jobs, pipeline, candidates, search")
struct RecruiterTests {
    @Test func job_createdWithTheDefaultPipelineThenPublished() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            try await browser.open("/app/jobs/new")
            let invalid = try await browser.post(
                "/app/jobs",
                [
                    ("title", ""), ("department", "Tech"), ("location", "Lyon"), ("contract_type", "cdi"),
                    ("remote_policy", "hybrid"), ("language", "fr"), ("response_target_days", "200"),
                ])
            #expect(invalid.status == .unprocessableEntity)
            #expect(invalid.body.contains("Ce champ est obligatoire.") && invalid.body.contains("entre 1 et 90"))
            let created = try await browser.post(
                "/app/jobs",
                [
                    ("title", "Développeuse iOS"), ("department", "Tech"), ("location", "Lyon"),
                    ("contract_type", "cdi"), ("remote_policy", "hybrid"),
                    ("language", "fr"), ("response_target_days", "10"),
                    ("description", "## Rôle\n<script>alert(1)</script>"),
                ])
            #expect(created.status == .seeOther)
            let job = try #require(try await Job.query(on: app.db).first())
            #expect(job.slug == "developpeuse-ios" && job.status == .draft && job.responseTargetDays == 10)
            let stages = try await Stage.query(on: app.db).filter(\.$job.$id == job.requireID()).sort(\.$position).all()
            #expect(stages.map(\.kind) == [.new, .screening, .interview, .interview, .offer, .hired])
            #expect(stages.first?.nameFR == "Nouvelle candidature")
            #expect(try await Browser(app).get("/careers/developpeuse-ios").status == .notFound)
            try await browser.open(SiteURL.editJob(try job.requireID()))
            try await browser.post(
                "/app/jobs/\(try job.requireID().uuidString.lowercased())/status", [("status", "open")])
            let page = try await Browser(app).get("/careers/developpeuse-ios")
            #expect(page.status == .ok)
            #expect(
                page.body.contains("<h2>Rôle</h2>") && page.body.contains("&lt;script&gt;")
                    && !page.body.contains("<script>alert"))
        }
    }

    @Test func board_moveRejectReopenAreRecordedOnTheTimeline() async throws {
        try await withApp { app, clock in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug)
            let application = try #require(try await JobApplication.query(on: app.db).first())
            let stages = try await Stage.query(on: app.db).filter(\.$job.$id == job.requireID()).sort(\.$position).all()
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            let board = try await browser.open(SiteURL.board(try job.requireID()))
            #expect(board.body.contains("Hélène Lefèvre") && board.body.contains("Présélection"))
            let base = SiteURL.application(try application.requireID())
            clock.advance(by: 3600)
            #expect(
                try await browser.post(base + "/move", [("stage_id", try stages[2].requireID().uuidString)]).status
                    == .seeOther)
            // A stage of another job is refused.
            let other = try await Fixtures.job(app, title: "Autre")
            let foreign = try #require(
                try await Stage.query(on: app.db).filter(\.$job.$id == other.requireID()).first())
            #expect(
                try await browser.post(base + "/move", [("stage_id", try foreign.requireID().uuidString)]).status
                    == .unprocessableEntity)
            #expect(try await browser.post(base + "/reject", [("reason", "nonsense")]).status == .unprocessableEntity)
            #expect(try await browser.post(base + "/reject", [("reason", "after_interview")]).status == .seeOther)
            var stored = try #require(try await JobApplication.find(application.id, on: app.db))
            #expect(
                stored.outcome == .rejected && stored.closingReason == "after_interview" && stored.decidedAt != nil
                    && stored.$stage.id == stages[2].id)
            #expect(
                try await browser.post(base + "/move", [("stage_id", try stages[3].requireID().uuidString)]).status
                    == .conflict)
            #expect(try await browser.post(base + "/reopen", []).status == .seeOther)
            #expect(
                try await browser.post(base + "/move", [("stage_id", try stages[5].requireID().uuidString)]).status
                    == .seeOther)
            stored = try #require(try await JobApplication.find(application.id, on: app.db))
            #expect(stored.outcome == .hired)
            let kinds = try await Interaction.query(on: app.db).sort(\.$createdAt).all().map(\.kind)
            #expect(
                kinds.filter { $0 == .stageChanged }.count == 2 && kinds.contains(.rejected)
                    && kinds.contains(.reopened))
            let page = try await browser.get(SiteURL.candidate(stored.$candidate.id))
            #expect(page.body.contains("Entretien → Embauché"))
        }
    }

    @Test func candidate_notesTagsAndMergeFeedTimelineAndSearch() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app)
            let visitor = Browser(app)
            _ = try await Fixtures.apply(
                visitor, slug: job.slug, email: "helene@example.com", extra: [("consent_talent_pool", "on")])
            _ = try await Fixtures.apply(
                visitor, slug: nil, first: "H.", last: "Lefevre", email: "h.lefevre@perso.example",
                extra: [("consent_newsletter", "on")])
            let kept = try #require(
                try await Candidate.query(on: app.db).filter(\.$email == "helene@example.com").first())
            let id = try kept.requireID()
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            try await browser.open(SiteURL.candidate(id))
            try await browser.post(SiteURL.candidate(id) + "/notes", [("body", "Très à l'aise avec Kubernetes")])
            try await browser.post(SiteURL.candidate(id) + "/tags", [("name", "Vivier-Prioritaire")])
            #expect(try await SearchIndex.search("kubern", on: app.db) == [id])
            #expect(try await SearchIndex.search("prioritaire", on: app.db) == [id])
            let merged = try await browser.post(
                SiteURL.candidate(id) + "/merge", [("email", "h.lefevre@perso.example")])
            #expect(merged.status == .seeOther)
            #expect(try await JobApplication.query(on: app.db).filter(\.$candidate.$id == id).count() == 2)
            // Consent given under the other address still counts for the person.
            let state = try await ConsentLedger.state(of: id, on: app.db)
            #expect(state[.talentPool] == true && state[.newsletter] == true)
            let list = try await browser.get("/app/candidates")
            #expect(list.body.contains("helene@example.com") && !list.body.contains("h.lefevre@perso.example"))
            let page = try await browser.get(SiteURL.candidate(id))
            #expect(page.body.contains("Très à l&#39;aise avec Kubernetes") && page.body.contains("vivier-prioritaire"))
        }
    }

    @Test func search_isAccentInsensitivePrefixAndRanked() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let visitor = Browser(app)
            _ = try await Fixtures.apply(
                visitor, slug: job.slug, first: "Hélène", last: "Dubois", email: "hd@example.com")
            _ = try await Fixtures.apply(
                visitor, slug: job.slug, first: "Helena", last: "Martin", email: "hm@example.com")
            _ = try await Fixtures.apply(
                visitor, slug: job.slug, first: "Zoé", last: "Hélène-Fontaine", email: "zh@example.com")
            let ids = try await Candidate.query(on: app.db).all().reduce(into: [String: UUID]()) {
                $0[$1.email] = $1.id
            }
            // Accents either way.
            #expect(
                Set(try await SearchIndex.search("Helene", on: app.db)) == [
                    ids["hd@example.com"]!, ids["zh@example.com"]!,
                ])
            #expect(try await SearchIndex.search("DUBOÎS", on: app.db) == [ids["hd@example.com"]!])
            // Prefix.
            #expect(Set(try await SearchIndex.search("hel", on: app.db)) == Set(ids.values))
            // Every term must match.
            #expect(try await SearchIndex.search("helene dubois", on: app.db) == [ids["hd@example.com"]!])
            // Ranking: the person matching a term twice comes before one matching it once.
            let note = Note(
                candidateID: ids["hm@example.com"]!, authorID: nil,
                body: "Kotlin, Kotlin Multiplatform, Kotlin coroutines", at: Date())
            try await note.create(on: app.db)
            try await SearchIndex.refresh(candidateID: ids["hm@example.com"]!, on: app.db)
            let other = Note(
                candidateID: ids["hd@example.com"]!, authorID: nil,
                body:
                    "A fait un peu de Kotlin il y a longtemps, surtout du Java et du Swift côté serveur avec beaucoup d'autres choses",
                at: Date())
            try await other.create(on: app.db)
            try await SearchIndex.refresh(candidateID: ids["hd@example.com"]!, on: app.db)
            #expect(
                try await SearchIndex.search("kotlin", on: app.db) == [ids["hm@example.com"]!, ids["hd@example.com"]!])
            // A refresh replaces the person's entry: a deleted note's words go, and each person has one entry.
            try await note.delete(on: app.db)
            try await SearchIndex.refresh(candidateID: ids["hm@example.com"]!, on: app.db)
            #expect(try await SearchIndex.search("multiplatform", on: app.db).isEmpty)
            #expect(try await SearchIndex.search("kotlin", on: app.db) == [ids["hd@example.com"]!])
            struct Count: Decodable { var n: Int }
            let entries = try await app.db.sql().raw("SELECT COUNT(*) AS n FROM candidate_search").first(
                decoding: Count.self)
            #expect(entries?.n == 3)
            // Operators typed by a user are text, not syntax.
            #expect(try await SearchIndex.search("hel*\"", on: app.db).count == 3)
            #expect(try await SearchIndex.search("NEAR(hel", on: app.db).isEmpty)
            #expect(try await SearchIndex.search("  ", on: app.db).isEmpty)
            // A hyphen before digits: PostgreSQL's parser once read "-379457" as a negative number.
            _ = try await Fixtures.apply(
                visitor, slug: job.slug, first: "Léa", last: "Lefèvre-379457", email: "lea.l@example.com")
            let lea = try #require(
                try await Candidate.query(on: app.db).filter(\.$email == "lea.l@example.com").first())
            for query in ["Lefèvre-379457", "379457", "lefevre 3794", "lea.l@example.com"] {
                #expect(try await SearchIndex.search(query, on: app.db) == [try lea.requireID()], "\(query)")
            }
        }
    }

    @Test func candidates_listFiltersAndPaginates() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            try await DemoData.load(on: app.db, config: app.config, now: app.clock.now())
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            let first = try await browser.get("/app/candidates")
            #expect(first.body.contains("300 candidat(s)") && first.body.contains("Page 1 / 6"))
            let rejected = try await browser.get("/app/candidates?outcome=rejected")
            #expect(rejected.status == .ok && !rejected.body.contains("300 candidat(s)"))
            let tagged = try await browser.get("/app/candidates?tag=swift")
            #expect(tagged.status == .ok && !tagged.body.contains("300 candidat(s)"))
            #expect(try await browser.get("/app/candidates?page=6").body.contains("Page 6 / 6"))
            let none = try await browser.get("/app/candidates?q=zzzzqqq")
            #expect(none.body.contains("0 candidat(s)") && none.body.contains("Aucun candidat ne correspond"))
            // Filters combine: closed applications of one job only, each person listed once.
            let job = try #require(try await Job.query(on: app.db).filter(\.$status == .open).first())
            let expected = Set(
                try await JobApplication.query(on: app.db).filter(\.$job.$id == job.requireID()).filter(
                    \.$outcome ~~ [.rejected, .withdrawn]
                ).all()
                    .map(\.$candidate.id))
            let closed = try await browser.get(
                "/app/candidates?outcome=closed&job=\(try job.requireID().uuidString.lowercased())")
            #expect(closed.body.contains("\(expected.count) candidat(s)"))

            // The same filters as CSV: every page, the same people, the filters in the file name.
            let jobID = try job.requireID().uuidString.lowercased()
            #expect(closed.body.contains("/app/candidates.csv?job=\(jobID)&amp;outcome=closed"))
            let csv = try await browser.get("/app/candidates.csv?outcome=closed&job=\(jobID)")
            #expect(csv.status == .ok && csv.headers.contentType?.subType == "csv")
            #expect(
                csv.headers.first(name: .contentDisposition)?.contains("candidates_job-\(jobID)_outcome-closed_")
                    == true)
            let lines = csv.body.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.first?.hasPrefix("Prénom,Nom,Adresse email") == true, "\(lines.first ?? "")")
            let emails = Set(
                try await Candidate.query(on: app.db).filter(\.$id ~~ Array(expected)).all().map(\.email))
            #expect(lines.count - 1 == expected.count)
            #expect(Set(lines.dropFirst().map { $0.split(separator: ",")[2] }.map(String.init)) == emails)
            let all = try await browser.get("/app/candidates.csv")
            #expect(all.body.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 301, "all 6 pages")
        }
    }

    @Test func candidatesCSV_neutralisesFormulas_andIsNotForHiringManagers() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            try await Fixtures.user(app, "hm@example.com", role: .hiringManager)
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(
                Browser(app), slug: job.slug, first: "=HYPERLINK(\"http://x\")", last: "+1-2", email: "f@example.com")
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            let csv = try await browser.get("/app/candidates.csv")
            #expect(csv.body.contains("\"'=HYPERLINK(\"\"http://x\"\")\",'+1-2,f@example.com"), "\(csv.body)")
            let manager = Browser(app)
            try await manager.login("hm@example.com")
            #expect(try await manager.get("/app/candidates.csv").status == .forbidden)
            #expect(!(try await manager.get("/app/candidates").body.contains("candidates.csv")))
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "candidates_exported").count() == 1)
        }
    }
}

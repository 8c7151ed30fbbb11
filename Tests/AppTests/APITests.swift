import Fluent
import Foundation
import Testing
import Vapor

@testable import App

/// `/api/v1`: tokens and their scopes, idempotency keys, problem details, stable pages, and the same effects as the
/// recruiter UI (acknowledgement, rejection message, timeline). schemathesis checks the contract itself from
/// scripts/api-contract.
@Suite("REST API")
struct APITests {
    /// A client holding one token.
    struct Client {
        let browser: Browser
        let token: String

        func call(
            _ method: HTTPMethod, _ path: String, json: String? = nil, headers extra: HTTPHeaders = [:]
        ) async throws -> (status: HTTPStatus, json: [String: Any], headers: HTTPHeaders, body: String) {
            var headers = extra
            headers.bearerAuthorization = BearerAuthorization(token: token)
            if json != nil { headers.contentType = .json }
            let page = try await browser.request(
                method, "/api/v1" + path, headers: headers, body: json.map { ByteBuffer(string: $0) })
            let object = (try? JSONSerialization.jsonObject(with: Data(page.body.utf8))) as? [String: Any] ?? [:]
            return (page.status, object, page.headers, page.body)
        }
    }

    static func client(_ app: Application, scope: ApiToken.Scope) async throws -> Client {
        var admin = try await User.query(on: app.db).filter(\.$email == "api.admin@example.com").first()
        if admin == nil { admin = try await Fixtures.user(app, "api.admin@example.com", role: .admin) }
        let (token, record) = try ApiToken.issue(name: "test \(scope)", scope: scope, by: admin!, now: app.clock.now())
        try await record.create(on: app.db)
        return Client(browser: Browser(app), token: token)
    }

    static func application(email: String, jobID: UUID?, extra: String = "") -> String {
        let job = jobID.map { "\"job_id\": \"\($0.api)\"," } ?? ""
        return """
            {\(job) "candidate": {"email": "\(email)", "first_name": "Inès", "last_name": "Moreau", "language": "fr"},
             "source": "job_board", "source_detail": "indeed", "consents": ["talent_pool"]\(extra)}
            """
    }

    @Test func tokens_areCheckedForPresenceScopeAndRevocation() async throws {
        try await withApp { app, _ in
            let reader = try await Self.client(app, scope: .read)
            let writer = try await Self.client(app, scope: .write)
            let anonymous = Client(browser: Browser(app), token: "viv_not-a-token")

            // Setup done; act and check: a wrong token is 401 with a problem document and a challenge.
            let refused = try await anonymous.call(.GET, "/jobs")
            #expect(refused.status == .unauthorized)
            #expect(refused.headers.first(name: .contentType) == "application/problem+json")
            #expect(refused.headers.first(name: .wwwAuthenticate) == "Bearer")
            #expect(refused.json["status"] as? Int == 401)

            #expect(try await reader.call(.GET, "/jobs").status == .ok)
            let write = try await reader.call(.POST, "/jobs", json: #"{"title": "Designer"}"#)
            #expect(write.status == .forbidden)
            #expect((write.json["detail"] as? String)?.contains("write") == true)
            #expect(try await writer.call(.POST, "/jobs", json: #"{"title": "Designer"}"#).status == .created)
            let suppress = try await writer.call(.POST, "/suppressions", json: #"{"email": "x@example.com"}"#)
            #expect(suppress.status == .forbidden)

            let record = try #require(
                try await ApiToken.query(on: app.db).filter(\.$tokenHash == Tokens.hash(reader.token)).first())
            #expect(record.lastUsedAt != nil)
            // Only the hash is stored.
            #expect(try await ApiToken.query(on: app.db).filter(\.$tokenHash == reader.token).count() == 0)
            record.revokedAt = app.clock.now()
            try await record.save(on: app.db)
            #expect(try await reader.call(.GET, "/jobs").status == .unauthorized)
        }
    }

    @Test func createApplication_isAcknowledgedLikeTheCareerSite() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let client = try await Self.client(app, scope: .write)

            let created = try await client.call(
                .POST, "/applications", json: Self.application(email: "Ines.Moreau@Example.com", jobID: job.id))

            #expect(created.status == .created)
            #expect(created.json["outcome"] as? String == "active")
            #expect(created.json["source"] as? String == "job_board")
            let person = try #require(
                try await Candidate.query(on: app.db).filter(\.$email == "ines.moreau@example.com").first())
            #expect(created.json["candidate_id"] as? String == person.id?.api)
            let acknowledgements = try await OutboxMessage.query(on: app.db).filter(\.$kind == "acknowledgement").all()
            #expect(acknowledgements.count == 1)
            #expect(acknowledgements.first?.recipient == "ines.moreau@example.com")
            let consent = try #require(
                try await ConsentEvent.query(on: app.db).filter(\.$candidate.$id == person.requireID()).first())
            #expect(consent.channel == .api && consent.purpose == .talentPool)
            // The first stage of the job's pipeline.
            let first = try await Stage.query(on: app.db).filter(\.$job.$id == job.requireID()).sort(\.$position)
                .first()
            #expect(created.json["stage_id"] as? String == first?.id?.api)

            let quiet = try await client.call(
                .POST, "/applications",
                json: Self.application(email: "quiet@example.com", jobID: nil, extra: #", "acknowledge": false"#))
            #expect(quiet.status == .created)
            #expect(try await OutboxMessage.query(on: app.db).filter(\.$kind == "acknowledgement").count() == 1)
        }
    }

    @Test func refusals_areProblemDetailsNamingEachField() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app, status: .draft)
            let client = try await Self.client(app, scope: .write)

            let invalid = try await client.call(
                .POST, "/applications",
                json: """
                    {"job_id": "\(try job.requireID().api)", "candidate": {"email": "not-an-address", "first_name": "A",
                     "last_name": "\(String(repeating: "x", count: 101))"}}
                    """)
            #expect(invalid.status == .unprocessableEntity)
            #expect(invalid.headers.first(name: .contentType) == "application/problem+json")
            let fields = (invalid.json["errors"] as? [[String: String]] ?? []).compactMap { $0["field"] }
            #expect(Set(fields) == ["body.candidate.email", "body.candidate.last_name", "body.job_id"])

            let missing = try await client.call(.POST, "/applications", json: #"{"candidate": {"email": "a@b.fr"}}"#)
            #expect(missing.status == .unprocessableEntity)
            let field = (missing.json["errors"] as? [[String: String]])?.first?["field"]
            #expect(field == "body.candidate.first_name" || field == "body.candidate.last_name")

            let null = try await client.call(.POST, "/jobs", json: #"{"title": "x", "location": null}"#)
            #expect(null.status == .unprocessableEntity)
            #expect((null.json["errors"] as? [[String: String]])?.first?["field"] == "body.location")
            let spontaneous = try await client.call(
                .POST, "/applications",
                json:
                    #"{"job_id": null, "candidate": {"email": "free@example.com", "first_name": "F", "last_name": "G"}}"#
            )
            #expect(spontaneous.status == .created)
            let unknown = try await client.call(.POST, "/jobs", json: #"{"title": "x", "salary": 1}"#)
            #expect(unknown.status == .unprocessableEntity)
            #expect(try await client.call(.POST, "/jobs", json: "{").status == .badRequest)
            #expect(try await client.call(.GET, "/jobs?limit=500").status == .unprocessableEntity)
            let nul = try await client.call(.GET, "/candidates?email=%00a%40b.fr")
            #expect(nul.status == .unprocessableEntity)
            #expect((nul.json["errors"] as? [[String: String]])?.first?["field"] == "query.email")
            #expect(try await client.call(.GET, "/jobs/\(UUID().api)").status == .notFound)
            #expect(try await client.call(.POST, "/jobs").status == .badRequest)
            // Nothing was written by the refused requests (the spontaneous application was accepted).
            #expect(try await JobApplication.query(on: app.db).count() == 1)
            #expect(try await Job.query(on: app.db).count() == 1)

            let trace = try await client.call(.DELETE, "/jobs")
            #expect(trace.status == .methodNotAllowed)
            #expect(trace.headers.first(name: .allow) == "GET, POST")
        }
    }

    @Test func idempotencyKey_replaysRefusesAndWaits() async throws {
        try await withApp { app, clock in
            let job = try await Fixtures.job(app)
            let client = try await Self.client(app, scope: .write)
            let body = Self.application(email: "once@example.com", jobID: job.id)
            let key: HTTPHeaders = ["Idempotency-Key": "3f1c-retry-1"]

            let first = try await client.call(.POST, "/applications", json: body, headers: key)
            let again = try await client.call(.POST, "/applications", json: body, headers: key)
            let other = try await client.call(
                .POST, "/applications", json: Self.application(email: "other@example.com", jobID: job.id), headers: key)

            #expect(first.status == .created && again.status == .created)
            #expect(first.body == again.body)
            #expect(again.headers.first(name: "Idempotent-Replayed") == "true")
            #expect(other.status == .unprocessableEntity)
            #expect(try await JobApplication.query(on: app.db).count() == 1)
            #expect(try await OutboxMessage.query(on: app.db).filter(\.$kind == "acknowledgement").count() == 1)

            // A first request still running under a key: the retry is told to wait.
            let token = try #require(
                try await ApiToken.query(on: app.db).filter(\.$tokenHash == Tokens.hash(client.token)).first())
            let running = "running-key"
            let hash = APIMiddleware.requestHash(
                method: "POST", path: "/api/v1/applications", query: nil, body: Array(body.utf8))
            try await IdempotencyRecord(
                tokenID: try token.requireID(), key: running, requestHash: hash, now: app.clock.now()
            )
            .create(on: app.db)
            let waiting = try await client.call(
                .POST, "/applications", json: body, headers: ["Idempotency-Key": running])
            #expect(waiting.status == .conflict)
            // Another token may use the same key for its own request.
            let second = try await Self.client(app, scope: .write)
            let own = try await second.call(
                .POST, "/applications", json: Self.application(email: "two@example.com", jobID: job.id), headers: key)
            #expect(own.status == .created)
            // A day later the scheduler has forgotten the keys.
            clock.advance(by: APIMiddleware.idempotencyWindow + 1)
            _ = try await Scheduler(app: app).runOnce()
            #expect(try await IdempotencyRecord.query(on: app.db).count() == 0)
        }
    }

    @Test func pages_stayStableWhilePeopleAreAdded() async throws {
        try await withApp { app, _ in
            for i in 0..<23 {
                try await Candidate(
                    email: "p\(i)@example.com", firstName: "P", lastName: "\(i)", phone: "", language: .fr
                ).create(on: app.db)
            }
            let before = Set(try await Candidate.query(on: app.db).all().compactMap { $0.id?.api })
            let client = try await Self.client(app, scope: .read)

            // Pages are read while another task keeps adding people.
            var seen: [String] = []
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for i in 0..<15 {
                        try await Candidate(
                            email: "new\(i)@example.com", firstName: "N", lastName: "\(i)", phone: "", language: .fr
                        ).create(on: app.db)
                    }
                }
                var cursor: String?
                repeat {
                    let page = try await client.call(
                        .GET, "/candidates?limit=4" + (cursor.map { "&cursor=\($0)" } ?? ""))
                    #expect(page.status == .ok)
                    let data = page.json["data"] as? [[String: Any]] ?? []
                    #expect(data.count <= 4)
                    seen += data.compactMap { $0["id"] as? String }
                    cursor = page.json["next_cursor"] as? String
                } while cursor != nil
                try await group.waitForAll()
            }

            #expect(seen.count == Set(seen).count, "a record came twice")
            #expect(before.isSubset(of: Set(seen)), "a record that existed was skipped")
            #expect(try await client.call(.GET, "/candidates?cursor=garbage").status == .unprocessableEntity)
        }
    }

    @Test func moveAndReject_actLikeTheBoard() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let client = try await Self.client(app, scope: .write)
            let created = try await client.call(
                .POST, "/applications", json: Self.application(email: "move@example.com", jobID: job.id))
            let id = try #require(created.json["id"] as? String)
            let stages = try await client.call(.GET, "/jobs/\(try job.requireID().api)/stages")
            let screening = try #require((stages.json["data"] as? [[String: Any]])?[1]["id"] as? String)

            let moved = try await client.call(
                .POST, "/applications/\(id)/move", json: #"{"stage_id": "\#(screening)"}"#)
            #expect(moved.status == .ok && moved.json["stage_id"] as? String == screening)
            let foreign = try await client.call(
                .POST, "/applications/\(id)/move", json: #"{"stage_id": "\#(UUID().api)"}"#)
            #expect(foreign.status == .unprocessableEntity)

            let rejected = try await client.call(
                .POST, "/applications/\(id)/reject", json: #"{"reason": "position_filled", "note": "Merci !"}"#)
            #expect(rejected.status == .ok)
            #expect(rejected.json["outcome"] as? String == "rejected")
            #expect(rejected.json["closing_reason"] as? String == "position_filled")
            #expect(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "rejection_position_filled").count() == 1)
            let twice = try await client.call(.POST, "/applications/\(id)/reject", json: #"{"reason": "profile"}"#)
            #expect(twice.status == .conflict)
            // The timeline says who: the admin who created the token.
            let admin = try #require(
                try await User.query(on: app.db).filter(\.$email == "api.admin@example.com").first())
            #expect(try await Interaction.query(on: app.db).filter(\.$kind == .rejected).first()?.$actor.id == admin.id)
        }
    }

    @Test func adminCreatesShowsOnceAndRevokesTokensInTheUI() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "admin@example.com", role: .admin)
            let browser = Browser(app)
            try await browser.login("admin@example.com")
            _ = try await browser.get("/app/api-tokens")

            let created = try await browser.post("/app/api-tokens", [("name", "SIRH sync"), ("scope", "write")])

            #expect(created.status == .ok)
            let token = try #require(created.body.firstMatch(of: /viv_[A-Za-z0-9_-]{43}/).map { String($0.0) })
            let record = try #require(try await ApiToken.query(on: app.db).first())
            #expect(record.tokenHash == Tokens.hash(token) && record.scope == .write && record.name == "SIRH sync")
            #expect(!(try await browser.get("/app/api-tokens").body.contains(token)))
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "api_token_created").count() == 1)
            let client = Client(browser: Browser(app), token: token)
            #expect(try await client.call(.GET, "/candidates").status == .ok)

            _ = try await browser.get("/app/api-tokens")
            _ = try await browser.post("/app/api-tokens/\(try record.requireID().api)/revoke", [])
            #expect(try await client.call(.GET, "/candidates").status == .unauthorized)
            #expect(
                try await browser.post("/app/api-tokens", [("name", ""), ("scope", "read")]).status
                    == .unprocessableEntity)

            // Another admin makes the token's creator a recruiter: the creator's tokens stop working.
            let biPage = try await browser.post("/app/api-tokens", [("name", "BI"), ("scope", "read")])
            let second = try #require(biPage.body.firstMatch(of: /viv_[A-Za-z0-9_-]{43}/).map { String($0.0) })
            let bi = Client(browser: Browser(app), token: second)
            #expect(try await bi.call(.GET, "/jobs").status == .ok)
            try await Fixtures.user(app, "boss@example.com", role: .admin)
            let boss = Browser(app)
            try await boss.login("boss@example.com")
            _ = try await boss.get("/app/users")
            let creator = try #require(try await User.query(on: app.db).filter(\.$email == "admin@example.com").first())
            _ = try await boss.post(
                "/app/users/\(try creator.requireID().api)", [("role", "recruiter"), ("active", "on")])
            #expect(try await bi.call(.GET, "/jobs").status == .unauthorized)
        }
    }

    @Test func referencePage_readsTheSpec() async throws {
        try await withApp { app, _ in
            let browser = Browser(app)
            let spec = try await browser.get("/api/v1/openapi.yaml")
            #expect(spec.status == .ok && spec.body.hasPrefix("openapi: 3.1.0"))
            let page = try await browser.get("/api/v1")
            #expect(page.status == .ok)
            for operation in ["createApplication", "rejectApplication", "listSuppressions", "recordConsent"] {
                #expect(page.body.contains("id=\"\(operation)\""))
            }
            #expect(page.body.contains("POST /api/v1/applications/{application_id}/reject"))
        }
    }
}

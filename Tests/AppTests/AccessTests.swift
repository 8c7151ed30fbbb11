import Fluent
import Foundation
import Testing
import Vapor

@testable import App

/// The authorization matrix (ASVS 8.2): every route × every role. A route missing from the matrix fails the test, so
/// a new route cannot ship without a decision about who may use it.
@Suite("Who may do what")
struct AccessTests {
    enum Expect: String {
        /// Served (2xx, a redirect that is not to the login page, or a validation answer).
        case allowed
        /// Anonymous: sent to the login page or refused with 401.
        case login
        case forbidden
        /// Hidden: answers exactly like an object that does not exist.
        case notFound
    }

    /// Route → expected result for anonymous, hiring manager, recruiter, admin.
    static let matrix: [String: [Expect]] = [
        "GET /": [.allowed, .allowed, .allowed, .allowed],
        "GET /healthz": [.allowed, .allowed, .allowed, .allowed],
        "GET /livez": [.allowed, .allowed, .allowed, .allowed],
        // Tests run in-process without a remote address: not this machine, so hidden.
        "GET /metrics": [.notFound, .notFound, .notFound, .notFound],
        "GET /careers": [.allowed, .allowed, .allowed, .allowed],
        "GET /careers/thanks": [.allowed, .allowed, .allowed, .allowed],
        "GET /careers/apply": [.allowed, .allowed, .allowed, .allowed],
        "POST /careers/apply": [.allowed, .allowed, .allowed, .allowed],
        "GET /careers/:slug": [.allowed, .allowed, .allowed, .allowed],
        "GET /careers/:slug/apply": [.allowed, .allowed, .allowed, .allowed],
        "POST /careers/:slug/apply": [.allowed, .allowed, .allowed, .allowed],
        "GET /login": [.allowed, .allowed, .allowed, .allowed],
        // Posted empty, a login is refused with 401 whoever asks.
        "POST /login": [.login, .login, .login, .login],
        // Signing out always lands on the login page.
        "POST /logout": [.login, .login, .login, .login],
        "GET /setup/:token": [.notFound, .notFound, .notFound, .notFound],
        "GET /login/forgot": [.allowed, .allowed, .allowed, .allowed],
        // Posted empty, the form answers with its error.
        "POST /login/forgot": [.allowed, .allowed, .allowed, .allowed],
        "GET /login/reset/:token": [.notFound, .notFound, .notFound, .notFound],
        "POST /login/reset/:token": [.notFound, .notFound, .notFound, .notFound],
        "POST /setup/:token": [.notFound, .notFound, .notFound, .notFound],
        "GET /app": [.login, .allowed, .allowed, .allowed],
        "GET /app/jobs": [.login, .allowed, .allowed, .allowed],
        "GET /app/jobs/new": [.login, .forbidden, .allowed, .allowed],
        "POST /app/jobs": [.login, .forbidden, .allowed, .allowed],
        "GET /app/jobs/:id/edit": [.login, .forbidden, .allowed, .allowed],
        "POST /app/jobs/:id": [.login, .forbidden, .allowed, .allowed],
        "POST /app/jobs/:id/status": [.login, .forbidden, .allowed, .allowed],
        "GET /app/jobs/:id/board": [.login, .allowed, .allowed, .allowed],
        "POST /app/applications/:id/move": [.login, .allowed, .allowed, .allowed],
        "POST /app/applications/:id/reject": [.login, .forbidden, .allowed, .allowed],
        "POST /app/applications/:id/withdraw": [.login, .forbidden, .allowed, .allowed],
        "POST /app/applications/:id/reopen": [.login, .forbidden, .allowed, .allowed],
        "POST /app/applications/:id/interviews": [.login, .allowed, .allowed, .allowed],
        "POST /app/interviews/:id": [.login, .notFound, .notFound, .notFound],
        "POST /app/interviews/:id/cancel": [.login, .notFound, .notFound, .notFound],
        "POST /app/interviews/:id/no-show": [.login, .notFound, .notFound, .notFound],
        "GET /app/candidates": [.login, .allowed, .allowed, .allowed],
        "GET /app/candidates/:id": [.login, .allowed, .allowed, .allowed],
        "POST /app/candidates/:id/notes": [.login, .allowed, .allowed, .allowed],
        "POST /app/candidates/:id/tags": [.login, .allowed, .allowed, .allowed],
        "POST /app/candidates/:id/tags/:tagID/delete": [.login, .allowed, .allowed, .allowed],
        "POST /app/candidates/:id/merge": [.login, .forbidden, .allowed, .allowed],
        "GET /app/candidates/:id/export": [.login, .forbidden, .allowed, .allowed],
        "GET /app/candidates.csv": [.login, .forbidden, .allowed, .allowed],
        "POST /app/candidates/:id/erase": [.login, .forbidden, .forbidden, .allowed],
        "GET /app/documents/:id": [.login, .allowed, .allowed, .allowed],
        "GET /app/outbox": [.login, .forbidden, .allowed, .allowed],
        "POST /app/outbox/test": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/outbox/:id/retry": [.login, .forbidden, .forbidden, .notFound],
        "POST /app/outbox/:id/cancel": [.login, .forbidden, .forbidden, .notFound],
        "GET /app/mailbox": [.login, .forbidden, .allowed, .allowed],
        "GET /app/mailbox/:name": [.login, .forbidden, .notFound, .notFound],
        "GET /app/mailbox/:name/html": [.login, .forbidden, .notFound, .notFound],
        "GET /app/users": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/users": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/users/:id": [.login, .forbidden, .forbidden, .allowed],
        "GET /app/pipeline": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/pipeline": [.login, .forbidden, .forbidden, .allowed],
        "GET /app/company": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/company": [.login, .forbidden, .forbidden, .allowed],
        "GET /app/audit": [.login, .forbidden, .forbidden, .allowed],
        "GET /app/retention": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/retention": [.login, .forbidden, .forbidden, .allowed],
        "GET /keep/:token": [.allowed, .allowed, .allowed, .allowed],
        "POST /keep/:token": [.allowed, .allowed, .allowed, .allowed],
        // Every user's own second factor; an admin cannot turn it off.
        "GET /app/security": [.login, .allowed, .allowed, .allowed],
        "POST /app/security/totp": [.login, .allowed, .allowed, .allowed],
        "POST /app/security/recovery": [.login, .allowed, .allowed, .allowed],
        "POST /app/security/totp/disable": [.login, .forbidden, .forbidden, .forbidden],
        "POST /app/security/password": [.login, .allowed, .allowed, .allowed],
        // Without a password just checked in this browser, back to the sign-in page.
        "GET /login/code": [.login, .login, .login, .login],
        "POST /login/code": [.login, .login, .login, .login],
        "POST /app/company/logo": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/company/logo/delete": [.login, .forbidden, .forbidden, .allowed],
        // The company's colour and logo: public, as candidates' pages and emails show them; another key is 404.
        "GET /brand/theme.css": [.allowed, .allowed, .allowed, .allowed],
        "GET /careers/feed.rss": [.allowed, .allowed, .allowed, .allowed],
        "GET /careers/feed.xml": [.allowed, .allowed, .allowed, .allowed],
        "GET /brand/logo/:key": [.notFound, .notFound, .notFound, .notFound],
        "POST /app/jobs/:id/reject": [.login, .forbidden, .allowed, .allowed],
        "GET /app/waiting": [.login, .allowed, .allowed, .allowed],
        "GET /app/indicators": [.login, .allowed, .allowed, .allowed],
        // Without a table name the export has nothing to send.
        "GET /app/indicators.csv": [.login, .notFound, .notFound, .notFound],
        "GET /app/templates": [.login, .forbidden, .allowed, .allowed],
        "GET /app/templates/:kind/:language": [.login, .forbidden, .allowed, .allowed],
        "POST /app/templates/:kind/:language": [.login, .forbidden, .allowed, .allowed],
        "GET /app/prep": [.login, .forbidden, .allowed, .allowed],
        "POST /app/prep": [.login, .forbidden, .allowed, .allowed],
        "POST /app/prep/:id/delete": [.login, .forbidden, .notFound, .notFound],
        "GET /app/partners": [.login, .forbidden, .allowed, .allowed],
        "POST /app/partners": [.login, .forbidden, .allowed, .allowed],
        "POST /app/partners/:id/toggle": [.login, .forbidden, .notFound, .notFound],
        "POST /app/candidates/:id/forward": [.login, .forbidden, .allowed, .allowed],
        "POST /app/candidates/:id/sms": [.login, .allowed, .allowed, .allowed],
        // The provider's webhook: a wrong key in the path is a 404 whoever asks.
        "POST /sms/inbound/:key": [.notFound, .notFound, .notFound, .notFound],
        // The candidate side: no staff role changes anything; without a portal session or a valid link, each
        // answers with the sign-in page or the friendly "link problem" page.
        "GET /portal/login": [.allowed, .allowed, .allowed, .allowed],
        "POST /portal/login": [.allowed, .allowed, .allowed, .allowed],
        "GET /portal/t/:token": [.allowed, .allowed, .allowed, .allowed],
        "GET /portal": [.allowed, .allowed, .allowed, .allowed],
        "POST /portal/logout": [.allowed, .allowed, .allowed, .allowed],
        "GET /portal/interviews/:file": [.allowed, .allowed, .allowed, .allowed],
        "POST /portal/consents": [.allowed, .allowed, .allowed, .allowed],
        "POST /portal/unsubscribe-all": [.allowed, .allowed, .allowed, .allowed],
        "POST /portal/applications/:id/withdraw": [.allowed, .allowed, .allowed, .allowed],
        "POST /portal/export": [.allowed, .allowed, .allowed, .allowed],
        "GET /portal/export/:token": [.allowed, .allowed, .allowed, .allowed],
        "POST /portal/erase": [.allowed, .allowed, .allowed, .allowed],
        "GET /consent/:token": [.allowed, .allowed, .allowed, .allowed],
        "POST /consent/:token": [.allowed, .allowed, .allowed, .allowed],
        "GET /prep/:token": [.allowed, .allowed, .allowed, .allowed],
        "GET /talent-community": [.allowed, .allowed, .allowed, .allowed],
        "POST /talent-community": [.allowed, .allowed, .allowed, .allowed],
        "GET /confirm/:token": [.allowed, .allowed, .allowed, .allowed],
        "POST /confirm/:token": [.allowed, .allowed, .allowed, .allowed],
        "GET /unsubscribe/:token": [.allowed, .allowed, .allowed, .allowed],
        // Campaign click counter (a forged token gets the link-problem page) and open pixel: public by nature.
        "GET /c/:token": [.allowed, .allowed, .allowed, .allowed],
        "GET /o/:token": [.allowed, .allowed, .allowed, .allowed],
        // The talent pool is the recruiters' tool; hiring managers see their jobs only.
        "GET /app/segments": [.login, .forbidden, .allowed, .allowed],
        "GET /app/segments/new": [.login, .forbidden, .allowed, .allowed],
        "POST /app/segments": [.login, .forbidden, .allowed, .allowed],
        "POST /app/segments/preview": [.login, .forbidden, .allowed, .allowed],
        "GET /app/segments/:id": [.login, .forbidden, .notFound, .notFound],
        "POST /app/segments/:id": [.login, .forbidden, .notFound, .notFound],
        "POST /app/segments/:id/delete": [.login, .forbidden, .notFound, .notFound],
        "GET /app/newsletters": [.login, .forbidden, .allowed, .allowed],
        "POST /app/newsletters": [.login, .forbidden, .allowed, .allowed],
        "GET /app/newsletters/:id": [.login, .forbidden, .notFound, .notFound],
        "POST /app/newsletters/:id": [.login, .forbidden, .notFound, .notFound],
        "GET /app/campaigns": [.login, .forbidden, .allowed, .allowed],
        "POST /app/campaigns": [.login, .forbidden, .allowed, .allowed],
        "GET /app/campaigns/:id": [.login, .forbidden, .notFound, .notFound],
        "POST /app/campaigns/:id": [.login, .forbidden, .notFound, .notFound],
        "GET /app/campaigns/:id/progress": [.login, .forbidden, .notFound, .notFound],
        "POST /app/campaigns/:id/pause": [.login, .forbidden, .notFound, .notFound],
        "POST /app/campaigns/:id/resume": [.login, .forbidden, .notFound, .notFound],
        "POST /app/campaigns/:id/cancel": [.login, .forbidden, .notFound, .notFound],
        "GET /app/jobs/:id/match": [.login, .forbidden, .allowed, .allowed],
        "POST /app/jobs/:id/match": [.login, .forbidden, .allowed, .allowed],
        "POST /unsubscribe/:token": [.allowed, .allowed, .allowed, .allowed],
        "GET /survey/:token": [.allowed, .allowed, .allowed, .allowed],
        // The API answers to tokens, never to a session: 401 whoever is signed in (APITests covers the scopes).
        "GET /api/v1": [.allowed, .allowed, .allowed, .allowed],
        "GET /api/v1/openapi.yaml": [.allowed, .allowed, .allowed, .allowed],
        "GET /api/v1/jobs": [.login, .login, .login, .login],
        "POST /api/v1/jobs": [.login, .login, .login, .login],
        "GET /api/v1/jobs/:job_id": [.login, .login, .login, .login],
        "GET /api/v1/jobs/:job_id/stages": [.login, .login, .login, .login],
        "GET /api/v1/candidates": [.login, .login, .login, .login],
        "POST /api/v1/candidates": [.login, .login, .login, .login],
        "GET /api/v1/candidates/:candidate_id": [.login, .login, .login, .login],
        "GET /api/v1/candidates/:candidate_id/notes": [.login, .login, .login, .login],
        "POST /api/v1/candidates/:candidate_id/notes": [.login, .login, .login, .login],
        "GET /api/v1/candidates/:candidate_id/tags": [.login, .login, .login, .login],
        "POST /api/v1/candidates/:candidate_id/tags": [.login, .login, .login, .login],
        "GET /api/v1/candidates/:candidate_id/consents": [.login, .login, .login, .login],
        "POST /api/v1/candidates/:candidate_id/consents": [.login, .login, .login, .login],
        "GET /api/v1/applications": [.login, .login, .login, .login],
        "POST /api/v1/applications": [.login, .login, .login, .login],
        "GET /api/v1/applications/:application_id": [.login, .login, .login, .login],
        "POST /api/v1/applications/:application_id/move": [.login, .login, .login, .login],
        "POST /api/v1/applications/:application_id/reject": [.login, .login, .login, .login],
        "GET /api/v1/applications/:application_id/interviews": [.login, .login, .login, .login],
        "POST /api/v1/applications/:application_id/interviews": [.login, .login, .login, .login],
        "GET /api/v1/templates": [.login, .login, .login, .login],
        "GET /api/v1/campaigns": [.login, .login, .login, .login],
        "GET /api/v1/campaigns/:campaign_id": [.login, .login, .login, .login],
        "GET /api/v1/suppressions": [.login, .login, .login, .login],
        "POST /api/v1/suppressions": [.login, .login, .login, .login],
        "GET /app/imports": [.login, .forbidden, .forbidden, .allowed],
        // Posted without a file, the upload answers with the form and its error.
        "POST /app/imports": [.login, .forbidden, .forbidden, .allowed],
        "GET /app/imports/:id": [.login, .forbidden, .forbidden, .notFound],
        "GET /app/imports/:id/progress": [.login, .forbidden, .forbidden, .notFound],
        "POST /app/imports/:id/mapping": [.login, .forbidden, .forbidden, .notFound],
        "POST /app/imports/:id/start": [.login, .forbidden, .forbidden, .notFound],
        "POST /app/imports/:id/cancel": [.login, .forbidden, .forbidden, .notFound],
        "GET /app/webhooks": [.login, .forbidden, .forbidden, .allowed],
        // Posted empty, the form answers with its error.
        "POST /app/webhooks": [.login, .forbidden, .forbidden, .allowed],
        "GET /app/webhooks/:id": [.login, .forbidden, .forbidden, .notFound],
        "POST /app/webhooks/:id/toggle": [.login, .forbidden, .forbidden, .notFound],
        "POST /app/webhooks/:id/test": [.login, .forbidden, .forbidden, .notFound],
        "POST /app/webhooks/:id/deliveries/:delivery/retry": [.login, .forbidden, .forbidden, .notFound],
        "GET /app/api-tokens": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/api-tokens": [.login, .forbidden, .forbidden, .allowed],
        "POST /app/api-tokens/:id/revoke": [.login, .forbidden, .forbidden, .notFound],
        "POST /survey/:token": [.allowed, .allowed, .allowed, .allowed],
    ]

    struct World {
        var assignedJob: Job
        var otherJob: Job
        var assignedApplication: UUID
        var otherApplication: UUID
        var assignedCandidate: UUID
        var otherCandidate: UUID
        var assignedDocument: UUID
        var otherDocument: UUID
        var tag: UUID
        var someUser: UUID
        /// A person of their own for the erasure route, which would otherwise empty the others.
        var erasable: UUID
    }

    /// Two jobs, one assigned to the hiring manager, each with one applicant who sent a CV.
    static func world(_ app: Application) async throws -> World {
        let manager = try await Fixtures.user(app, "manager@example.com", role: .hiringManager)
        try await Fixtures.user(app, "recruiter@example.com", role: .recruiter)
        try await Fixtures.user(app, "admin@example.com", role: .admin)
        let someUser = try await Fixtures.user(app, "someone@example.com", role: .recruiter)
        let assigned = try await Fixtures.job(app, title: "Assigned", members: [manager])
        let other = try await Fixtures.job(app, title: "Other")
        let browser = Browser(app)
        _ = try await Fixtures.apply(browser, slug: assigned.slug, email: "a@example.com")
        _ = try await Fixtures.apply(browser, slug: other.slug, email: "b@example.com")
        let a = try #require(try await Candidate.query(on: app.db).filter(\.$email == "a@example.com").first())
        let b = try #require(try await Candidate.query(on: app.db).filter(\.$email == "b@example.com").first())
        let tag = Tag(name: "swift")
        try await tag.create(on: app.db)
        try await CandidateTag(candidateID: try a.requireID(), tagID: try tag.requireID()).create(on: app.db)
        try await CandidateTag(candidateID: try b.requireID(), tagID: try tag.requireID()).create(on: app.db)
        let erasable = Candidate(
            id: UUID(), email: "erasable@example.com", firstName: "E", lastName: "Rasable", phone: "", language: .fr)
        try await erasable.create(on: app.db)
        func application(_ c: Candidate) async throws -> UUID {
            try #require(
                try await JobApplication.query(on: app.db).filter(\.$candidate.$id == c.requireID()).first()?.id)
        }
        func document(_ c: Candidate) async throws -> UUID {
            try #require(try await Document.query(on: app.db).filter(\.$candidate.$id == c.requireID()).first()?.id)
        }
        return World(
            assignedJob: assigned, otherJob: other, assignedApplication: try await application(a),
            otherApplication: try await application(b),
            assignedCandidate: try a.requireID(), otherCandidate: try b.requireID(),
            assignedDocument: try await document(a), otherDocument: try await document(b),
            tag: try tag.requireID(), someUser: try someUser.requireID(), erasable: try erasable.requireID())
    }

    static func path(_ route: Route, _ world: World, hidden: Bool) -> String {
        let segments = route.path.map { component -> String in
            switch component {
            case .constant(let value): return value
            case .parameter(let name):
                let id: UUID
                switch name {
                case "slug": return hidden ? world.otherJob.slug : world.assignedJob.slug
                case "token", "key": return "not-a-token"
                case "kind": return "acknowledgement"
                case "language": return "fr"
                case "tagID": id = world.tag
                default:
                    let area =
                        route.path.first.map { "\($0)" } == "app" && route.path.count > 1 ? "\(route.path[1])" : ""
                    switch area {
                    case "jobs": id = (hidden ? world.otherJob.id : world.assignedJob.id)!
                    case "applications": id = hidden ? world.otherApplication : world.assignedApplication
                    case "candidates" where route.path.last.map({ "\($0)" }) == "erase": id = world.erasable
                    case "candidates": id = hidden ? world.otherCandidate : world.assignedCandidate
                    case "documents": id = hidden ? world.otherDocument : world.assignedDocument
                    case "users": id = world.someUser
                    default: id = UUID()
                    }
                }
                return id.uuidString.lowercased()
            case .anything, .catchall: return "x"
            }
        }
        return "/" + segments.joined(separator: "/")
    }

    static func classify(_ page: Browser.Page) -> Expect {
        switch page.status {
        case .unauthorized: return .login
        case .seeOther where page.location?.hasPrefix("/login") == true: return .login
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        default: return .allowed
        }
    }

    @Test func everyRouteAnswersEachRoleAsTheMatrixSays() async throws {
        try await withApp { app, _ in
            let world = try await Self.world(app)
            let routes = app.routes.all.filter { $0.method != .HEAD }
            var mismatches: [String] = []
            let roles: [(String?, Int)] = [
                (nil, 0), ("manager@example.com", 1), ("recruiter@example.com", 2), ("admin@example.com", 3),
            ]
            for (email, column) in roles {
                for route in routes {
                    let key = "\(route.method.rawValue) /\(route.path.map { "\($0)" }.joined(separator: "/"))"
                    guard let expected = Self.matrix[key] else {
                        mismatches.append("\(key) is not in the authorization matrix")
                        continue
                    }
                    let browser = Browser(app)
                    if let email { try await browser.login(email) } else { try await browser.open("/login") }
                    let path = Self.path(route, world, hidden: false)
                    let page = route.method == .GET ? try await browser.get(path) : try await browser.post(path, [])
                    let got = Self.classify(page)
                    if got != expected[column] {
                        mismatches.append(
                            "\(key) as \(email ?? "anonymous"): expected \(expected[column]), got \(got) (\(page.status.code))"
                        )
                    }
                    // A hiring manager asking for something of a job they are not assigned to gets 404.
                    if column == 1, expected[1] == .allowed, key.contains(" /app/"), key.contains(":id"),
                        !key.contains("users")
                    {
                        let hidden = Self.path(route, world, hidden: true)
                        let page =
                            route.method == .GET ? try await browser.get(hidden) : try await browser.post(hidden, [])
                        if page.status != .notFound {
                            mismatches.append(
                                "\(key) on an unassigned job as manager: expected 404, got \(page.status.code)")
                        }
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        }
    }

    @Test func hiringManagerListsOnlyTheirJobsAndCandidates() async throws {
        try await withApp { app, _ in
            _ = try await Self.world(app)
            let browser = Browser(app)
            try await browser.login("manager@example.com")
            let jobs = try await browser.get("/app/jobs")
            #expect(jobs.body.contains("Assigned") && !jobs.body.contains(">Other<"))
            let candidates = try await browser.get("/app/candidates")
            #expect(candidates.body.contains("a@example.com") && !candidates.body.contains("b@example.com"))
            let search = try await browser.get("/app/candidates?q=example")
            #expect(!search.body.contains("b@example.com"))
        }
    }

    @Test func hiringManagerWithoutJobsSeesNothing() async throws {
        try await withApp { app, _ in
            _ = try await Self.world(app)
            try await Fixtures.user(app, "new.manager@example.com", role: .hiringManager)
            let browser = Browser(app)
            try await browser.login("new.manager@example.com")
            let candidates = try await browser.get("/app/candidates")
            #expect(candidates.status == .ok && candidates.body.contains("0 candidat(s)"))
            #expect(try await browser.get("/app").body.contains("Aucune offre publiée"))
        }
    }

    @Test func cvIsServedAsAnAttachmentWithSafeHeaders() async throws {
        try await withApp { app, _ in
            let world = try await Self.world(app)
            let browser = Browser(app)
            try await browser.login("recruiter@example.com")
            let page = try await browser.get("/app/documents/\(world.assignedDocument.uuidString.lowercased())")
            #expect(page.status == .ok)
            #expect(
                page.headers.first(name: .contentDisposition)?.hasPrefix(
                    "attachment; filename=\"cv.pdf\"; filename*=UTF-8''cv.pdf") == true)
            #expect(page.headers.first(name: "Content-Security-Policy")?.hasPrefix("sandbox") == true)
            #expect(page.body.hasPrefix("%PDF-"))
        }
    }
}

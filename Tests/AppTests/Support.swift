import Fluent
import Foundation
import NIOCore
import SQLKit
import Testing
import Vapor
import VaporTesting
import VivierCore

@testable import App

/// Builds a fresh Vivier on a real engine for one test: a temporary SQLite file by default, or a private schema in
/// the PostgreSQL named by `VIVIER_TEST_DATABASE_URL`. Everything it created is removed afterwards.
func withApp(
    environment extra: [String: String] = [:], _ test: (Application, ManualClock) async throws -> Void
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vivier-test-\(UUID().uuidString)")
    var environment = [
        "VIVIER_DATA_DIR": directory.path, "VIVIER_SECRET": "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    ].merging(extra) { $1 }
    var schema: String?
    if let postgres = ProcessInfo.processInfo.environment["VIVIER_TEST_DATABASE_URL"], !postgres.isEmpty {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        schema = name
        environment["VIVIER_DATABASE_URL"] = postgres + (postgres.contains("?") ? "&" : "?") + "search_path=\(name)"
    }
    let app = try await Application.make(.testing)
    let clock = ManualClock()
    var failure: (any Error)?
    do {
        try await configure(app, config: try AppConfig.load(from: environment, production: false))
        app.clock = clock
        // Cheap hashes keep the suite fast; production uses Bcrypt's default cost.
        app.passwords.use(.bcrypt(cost: 4))
        if let schema { try await app.db.sql().raw("CREATE SCHEMA \(ident: schema)").run() }
        try await prepareDatabase(app)
        try await test(app, clock)
    } catch {
        failure = error
    }
    if let schema { try? await app.db.sql().raw("DROP SCHEMA \(ident: schema) CASCADE").run() }
    try await app.asyncShutdown()
    try? FileManager.default.removeItem(at: directory)
    if let failure { throw failure }
}

var isPostgresRun: Bool { !(ProcessInfo.processInfo.environment["VIVIER_TEST_DATABASE_URL"] ?? "").isEmpty }

/// A browser for tests: keeps cookies between requests and reads form tokens from pages.
final class Browser: @unchecked Sendable {
    let app: Application
    var cookies: [String: String] = [:]

    init(_ app: Application) { self.app = app }

    struct Page {
        var status: HTTPStatus
        var headers: HTTPHeaders
        var body: String
        /// The body as it came, for downloads.
        var bytes: [UInt8] = []

        var location: String? { headers.first(name: .location) }

        /// The value of a hidden form field on this page.
        func field(_ name: String) -> String? {
            guard let range = body.range(of: "name=\"\(name)\" value=\"") else { return nil }
            return String(body[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    @discardableResult
    func request(_ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: ByteBuffer? = nil) async throws
        -> Page
    {
        var all = headers
        if !cookies.isEmpty {
            all.replaceOrAdd(name: .cookie, value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
        }
        var page: Page?
        try await app.testing().test(method, path, headers: all, body: body) { response in
            for value in response.headers[.setCookie] {
                let pair = value.split(separator: ";").first.map(String.init) ?? ""
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2 else { continue }
                if value.contains("Max-Age=0") || value.contains("1970") {
                    cookies[parts[0]] = nil
                } else {
                    cookies[parts[0]] = parts[1]
                }
            }
            page = Page(
                status: response.status, headers: response.headers, body: response.body.string,
                bytes: Array(response.body.readableBytesView))
        }
        return page!
    }

    func get(_ path: String) async throws -> Page { try await request(.GET, path) }

    /// Posts a form the way a browser does, with the visitor's form token unless `csrf` says otherwise.
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], csrf: String? = nil, headers: HTTPHeaders = [:])
        async throws -> Page
    {
        let token = csrf ?? currentCSRF
        var all = headers
        all.contentType = .urlEncodedForm
        let encoded = (fields + (token.map { [("_csrf", $0)] } ?? [])).map { key, value in
            "\(key.formEncoded)=\(value.formEncoded)"
        }.joined(separator: "&")
        return try await request(.POST, path, headers: all, body: ByteBuffer(string: encoded))
    }

    /// The token the next form must carry: read from a page of the back office or the visitor cookie.
    var lastPageCSRF: String?
    var currentCSRF: String? { lastPageCSRF ?? cookies[CSRFMiddleware.cookie] }

    /// Loads a page and remembers its form token.
    @discardableResult
    func open(_ path: String) async throws -> Page {
        let page = try await get(path)
        if let token = page.field("_csrf") { lastPageCSRF = token }
        return page
    }

    func login(_ email: String, _ password: String = "correct horse battery") async throws {
        try await open("/login")
        var page = try await post("/login", [("email", email), ("password", password)])
        #expect(page.status == .seeOther, "login of \(email) failed with \(page.status)")
        if page.location == SiteURL.loginCode {
            // Fixture admins hold the app of `Fixtures.totpSecret`; a code works once, so a second sign-in within
            // the same 30 seconds waits for the next one, as a person would.
            for _ in 0..<3 {
                let code = TOTP.code(secret: Fixtures.totpSecret, counter: TOTP.counter(at: app.clock.now()))
                page = try await post(SiteURL.loginCode, [("code", code)])
                if page.status == .seeOther { break }
                (app.clock as? ManualClock)?.advance(by: TOTP.step)
            }
            #expect(page.status == .seeOther, "second factor of \(email) refused with \(page.status)")
        }
        lastPageCSRF = nil
        try await open("/app")
    }
}

extension String {
    var formEncoded: String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: "%20", with: "+")
    }
}

/// Builds a `multipart/form-data` body like a browser's.
struct Multipart {
    let boundary = "----vivier\(UUID().uuidString)"
    var parts: [UInt8] = []

    mutating func add(_ name: String, _ value: String) {
        parts += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func addFile(_ name: String, filename: String, type: String, bytes: [UInt8]) {
        parts += Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(type)\r\n\r\n"
                .utf8)
        parts += bytes
        parts += Array("\r\n".utf8)
    }

    var body: ByteBuffer { ByteBuffer(bytes: parts + Array("--\(boundary)--\r\n".utf8)) }
    var headers: HTTPHeaders { ["Content-Type": "multipart/form-data; boundary=\(boundary)"] }
}

/// Test data built through the same models the app uses.
enum Fixtures {
    static let password = "correct horse battery"
    /// The authenticator app of fixture admins (the RFC 6238 test secret).
    static let totpSecret = Array("12345678901234567890".utf8)

    @discardableResult
    static func user(_ app: Application, _ email: String, role: User.Role) async throws -> User {
        let user = User(
            email: email, name: email.components(separatedBy: "@")[0], role: role,
            passwordHash: try app.password.hash(password), locale: "fr")
        if role == .admin {
            user.totpSecret = try SecondFactor.seal(totpSecret, with: app.config.secret)
            user.totpEnabledAt = app.clock.now()
        }
        try await user.create(on: app.db)
        return user
    }

    @discardableResult
    static func job(
        _ app: Application, title: String = "Développeur·se Swift", status: Job.Status = .open, members: [User] = []
    ) async throws -> Job {
        let job = Job(
            title: title, slug: try await JobsController.uniqueSlug(for: title, excluding: nil, on: app.db),
            department: "Tech", location: "Paris",
            contractType: .cdi, remotePolicy: .hybrid, description: "## Missions\n- Écrire du Swift", language: .fr,
            status: status)
        job.publishedAt = app.clock.now()
        try await job.create(on: app.db)
        for (position, template) in StageTemplate.defaultPipeline.enumerated() {
            try await Stage(jobID: try job.requireID(), position: position, template: template).create(on: app.db)
        }
        for member in members {
            try await JobMember(jobID: try job.requireID(), userID: try member.requireID()).create(on: app.db)
        }
        return job
    }

    /// A minimal valid PDF with some text.
    static let pdf: [UInt8] = Array(
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
            .utf8)

    /// A real one-page PDF showing `text`, with a correct cross-reference table, for text extraction.
    static func textPDF(_ text: String) -> [UInt8] {
        let stream = "BT /F1 12 Tf 20 100 Td (\(text)) Tj ET"
        let objects = [
            "<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[3 0 R]/Count 1>>",
            "<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
            "<</Length \(stream.utf8.count)>>stream\n\(stream)\nendstream",
            "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
        ]
        var out = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(out.utf8.count)
            out += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = out.utf8.count
        out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        out += offsets.map { String(format: "%010d 00000 n \n", $0) }.joined()
        out += "trailer<</Size \(objects.count + 1)/Root 1 0 R>>\nstartxref\n\(xref)\n%%EOF\n"
        return Array(out.utf8)
    }

    /// An admin's upload of a file on the import page (the page read first, for its CSRF token).
    static func uploadImport(_ browser: Browser, filename: String, bytes: [UInt8]) async throws -> Browser.Page {
        _ = try await browser.get("/app/imports")
        var multipart = Multipart()
        multipart.add("_csrf", browser.currentCSRF ?? "")
        multipart.addFile("file", filename: filename, type: "text/csv", bytes: bytes)
        return try await browser.request(.POST, "/app/imports", headers: multipart.headers, body: multipart.body)
    }

    /// Applies through the public form, as a candidate's browser does.
    static func apply(
        _ browser: Browser, slug: String?, first: String = "Hélène", last: String = "Lefèvre",
        email: String = "helene@example.com",
        phone: String = "+33 6 12 34 56 78", coverLetter: String = "Bonjour !", cv: [UInt8]? = Fixtures.pdf,
        cvName: String = "cv.pdf",
        extra: [(String, String)] = [], submission: String? = nil
    ) async throws -> Browser.Page {
        let formPath = slug.map { "/careers/\($0)/apply" } ?? "/careers/apply"
        let form = try await browser.get(formPath)
        var multipart = Multipart()
        multipart.add("_csrf", browser.cookies[CSRFMiddleware.cookie] ?? "")
        multipart.add("submission", submission ?? form.field("submission") ?? "")
        multipart.add("first_name", first)
        multipart.add("last_name", last)
        multipart.add("email", email)
        multipart.add("phone", phone)
        multipart.add("cover_letter", coverLetter)
        for (name, value) in extra { multipart.add(name, value) }
        if let cv { multipart.addFile("cv", filename: cvName, type: "application/pdf", bytes: cv) }
        return try await browser.request(.POST, formPath, headers: multipart.headers, body: multipart.body)
    }
}

extension OutboxMessage {
    /// The rendered message; empty for a row written without one (the demo's history) or erased.
    func body(on db: any Database) async throws -> String {
        try await OutboxBody.find(requireID(), on: db)?.message ?? ""
    }
}

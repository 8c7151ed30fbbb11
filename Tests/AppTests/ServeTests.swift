import Foundation
import Testing

/// The real binary, as an operator runs it: `vivier serve` answers, takes an application and sends the
/// acknowledgement from its background worker within seconds, and stops cleanly on SIGTERM.
@Suite("vivier serve end to end", .serialized)
struct ServeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binary = root.appendingPathComponent(".build/debug/vivier")

    static func run(_ arguments: [String], environment: [String: String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = root
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary.path) && !isPostgresRun))
    func serve_acknowledgesAnApplicationWithinSeconds() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("vivier-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let port = Int.random(in: 20_000..<40_000)
        let environment = ["VIVIER_DATA_DIR": data.path, "VIVIER_PORT": "\(port)"]
        #expect(try Self.run([Self.binary.path, "demo"], environment: environment).0 == 0)

        let server = Process()
        server.executableURL = Self.binary
        server.arguments = ["serve"]
        server.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        server.currentDirectoryURL = Self.root
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<100 where try Self.run(["curl", "-sf", "\(base)/healthz"], environment: [:]).0 != 0 {
            try await Task.sleep(for: .milliseconds(100))
        }

        // Apply like a browser: form page (cookie + tokens), then the multipart post.
        let jar = data.appendingPathComponent("jar").path
        let careers = try Self.run(["curl", "-s", "\(base)/careers"], environment: [:]).1
        let slug = try #require(careers.firstMatch(of: /href="\/careers\/([a-z0-9-]+)"/)?.1)
        let form = try Self.run(["curl", "-s", "-c", jar, "\(base)/careers/\(slug)/apply"], environment: [:]).1
        let submission = try #require(form.firstMatch(of: /name="submission" value="([^"]+)"/)?.1)
        let cookies = try String(contentsOfFile: jar, encoding: .utf8)
        let csrf = try #require(cookies.firstMatch(of: /vivier_csrf\t([^\s]+)/)?.1)
        let cv = data.appendingPathComponent("cv.pdf")
        try Data("%PDF-1.4\n%%EOF\n".utf8).write(to: cv)
        let posted = try Self.run(
            [
                "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", jar, "-F", "_csrf=\(csrf)", "-F",
                "submission=\(submission)",
                "-F", "first_name=Hélène", "-F", "last_name=Lefèvre", "-F", "email=helene.e2e@example.com", "-F",
                "cv=@\(cv.path);type=application/pdf",
                "\(base)/careers/\(slug)/apply",
            ], environment: [:])
        #expect(posted.1 == "303")

        // The acknowledgement lands in the Maildir within seconds (beside what the demo's own history sends:
        // surveys, digests).
        let inbox = data.appendingPathComponent("mail/new")
        var delivered: [String] = []
        for _ in 0..<100 {
            delivered = ((try? FileManager.default.contentsOfDirectory(atPath: inbox.path)) ?? []).filter { name in
                (try? String(contentsOf: inbox.appendingPathComponent(name), encoding: .utf8))?
                    .contains("Delivered-To: <helene.e2e@example.com>") == true
            }
            if !delivered.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(delivered.count == 1)
        if let name = delivered.first {
            let message = try String(contentsOf: inbox.appendingPathComponent(name), encoding: .utf8)
            #expect(message.contains("\r\nSubject: "), "a whole message was delivered")
        }

        server.terminate()
        server.waitUntilExit()
        #expect(server.terminationReason == .exit)
    }
}

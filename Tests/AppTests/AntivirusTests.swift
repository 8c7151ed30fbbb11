import Fluent
import Foundation
import Testing
import Vapor
import VivierCore

@testable import App

/// Uploads shown to a real ClamAV daemon, started here with one signature of our own for the EICAR test string (the
/// public signature databases cannot be downloaded on the build machine; production runs `freshclam`).
@Suite("Antivirus: uploads checked by clamd before anything is stored", .serialized)
struct AntivirusTests {
    static let eicar = Array(#"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"#.utf8)
    static let clamd = "/usr/sbin/clamd"

    /// A daemon of our own on a Unix socket, for the duration of `body`.
    static func withDaemon(_ body: (String) async throws -> Void) async throws {
        guard FileManager.default.isExecutableFile(atPath: clamd) else {
            // Under scripts/test the daemon is installed; elsewhere the suite is skipped.
            #expect(ProcessInfo.processInfo.environment["VIVIER_REQUIRE_PEERS"] != "1", "clamd is not installed")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vivier-clamd-\(UUID())")
        let database = directory.appendingPathComponent("db")
        try FileManager.default.createDirectory(at: database, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let hex = eicar.map { String(format: "%02x", $0) }.joined()
        try "Vivier.Test.EICAR:0:*:\(hex)\n".write(
            to: database.appendingPathComponent("test.ndb"), atomically: true, encoding: .utf8)
        let socket = directory.appendingPathComponent("clamd.sock").path
        // As root, clamd would switch to its own user, who cannot read this directory: it stays root here.
        let user = getuid() == 0 ? "User root\n" : ""
        try """
        Foreground yes
        LocalSocket \(socket)
        DatabaseDirectory \(database.path)
        LogFile \(directory.path)/clamd.log

        """.appending(user).write(to: directory.appendingPathComponent("clamd.conf"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: clamd)
        process.arguments = ["-c", directory.appendingPathComponent("clamd.conf").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let antivirus = Antivirus(endpoint: .unix(path: socket))
        for _ in 0..<100 where !(await antivirus.ping()) { try await Task.sleep(for: .milliseconds(100)) }
        try #require(await antivirus.ping(), "clamd did not start")
        try await body("unix:" + socket)
    }

    @Test func scan_cleanInfectedAcrossChunks_andDaemonAway() async throws {
        try await Self.withDaemon { endpoint in
            let antivirus = Antivirus(endpoint: try #require(Antivirus.endpoint(endpoint)))
            #expect(try await antivirus.scan(Fixtures.pdf) == .clean)
            #expect(try await antivirus.scan(Self.eicar) == .infected(signature: "Vivier.Test.EICAR.UNOFFICIAL"))
            // Three chunks, the test string across the boundary of the first two.
            let padding = [UInt8](repeating: 0x20, count: Antivirus.chunk - 20)
            let big = Fixtures.pdf + padding + Self.eicar + [UInt8](repeating: 0x41, count: Antivirus.chunk)
            #expect(try await antivirus.scan(big) == .infected(signature: "Vivier.Test.EICAR.UNOFFICIAL"))
        }
        let away = Antivirus(endpoint: .unix(path: "/nonexistent/clamd.sock"))
        await #expect(throws: Antivirus.Unavailable.self) { try await away.scan(Fixtures.pdf) }
        #expect(await !away.ping())
    }

    @Test func endpoints_andConfiguration() throws {
        #expect(Antivirus.endpoint("unix:/run/clamav/clamd.ctl") == .unix(path: "/run/clamav/clamd.ctl"))
        #expect(Antivirus.endpoint("tcp://127.0.0.1:3310") == .tcp(host: "127.0.0.1", port: 3310))
        for bad in ["unix:relative.sock", "tcp://host", "tcp://:3310", "http://h:3310", "tcp://h:99999", "clamd"] {
            #expect(Antivirus.endpoint(bad) == nil, "\(bad)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vivier-\(UUID())").path
        #expect(throws: AppConfig.Invalid.self) {
            try AppConfig.load(
                from: ["VIVIER_DATA_DIR": directory, "VIVIER_CLAMAV": "localhost:3310"], production: false)
        }
    }

    /// An infected CV sends the form back with the antivirus's refusal and stores nothing; a clean one goes through;
    /// with the daemon away, nothing unchecked is stored either. Same refusal for an import file.
    @Test func uploads_refusedWhenInfectedOrUnchecked_nothingStored() async throws {
        try await Self.withDaemon { endpoint in
            try await withApp(environment: ["VIVIER_CLAMAV": endpoint]) { app, _ in
                let job = try await Fixtures.job(app)
                let infected = try await Fixtures.apply(Browser(app), slug: job.slug, cv: Fixtures.pdf + Self.eicar)
                #expect(infected.status == .unprocessableEntity)
                #expect(infected.body.contains("refusé par l’antivirus"))
                #expect(try await Candidate.query(on: app.db).count() == 0)
                #expect(try await Document.query(on: app.db).count() == 0)
                let files = try FileManager.default.contentsOfDirectory(atPath: app.config.blobDirectory.path)
                #expect(files.isEmpty, "no file kept: \(files)")

                let clean = try await Fixtures.apply(Browser(app), slug: job.slug)
                #expect(clean.status == .seeOther)
                #expect(try await Document.query(on: app.db).count() == 1)

                try await Fixtures.user(app, "admin@example.com", role: .admin)
                let admin = Browser(app)
                try await admin.login("admin@example.com")
                let refused = try await Fixtures.uploadImport(
                    admin, filename: "pool.csv", bytes: Array("email\nines@example.com\n".utf8) + Self.eicar)
                #expect(refused.body.contains("refusé par l’antivirus"))
                #expect(try await PoolImport.query(on: app.db).count() == 0)
            }
        }
        try await withApp(environment: ["VIVIER_CLAMAV": "unix:/nonexistent/clamd.sock"]) { app, _ in
            let job = try await Fixtures.job(app)
            let unchecked = try await Fixtures.apply(Browser(app), slug: job.slug)
            #expect(unchecked.status == .unprocessableEntity)
            #expect(unchecked.body.contains("pas pu être vérifié"))
            #expect(try await Candidate.query(on: app.db).count() == 0)
        }
    }
}

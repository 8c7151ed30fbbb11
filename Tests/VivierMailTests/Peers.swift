import Foundation
import Testing

/// Programs nobody on the project wrote, used to check what Vivier produces: Python's `email` parser, dkimpy and
/// aiosmtpd, from the virtual environment `scripts/test` prepares (`VIVIER_TEST_PYTHON`).
enum Peers {
    static let python: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["VIVIER_TEST_PYTHON"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let local = FileManager.default.currentDirectoryPath + "/.build/peers/bin/python"
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }()

    /// Under `scripts/test` (VIVIER_REQUIRE_PEERS=1) a missing peer fails the suite instead of skipping it.
    static var available: Bool {
        if python == nil && ProcessInfo.processInfo.environment["VIVIER_REQUIRE_PEERS"] == "1" { return true }
        return python != nil
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Peers")

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a peer script with `input` on stdin and returns its stdout.
    static func run(_ script: String, _ arguments: [String] = [], input: [UInt8] = []) throws -> String {
        guard let python else {
            throw Failure(description: "no Python peers: run scripts/test (or create .build/peers)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [directory.appendingPathComponent(script).path] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(script) failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// What Python's email package sees in a message.
    struct Parsed: Decodable {
        struct Part: Decodable {
            var type: String
            var content: String
        }

        struct File: Decodable {
            var filename: String?
            var type: String
            var sha256: String
        }

        var defects: [String]
        var headers: [String: String]
        var parts: [Part]
        var attachments: [File]
        var from_addresses: [[String]]
        var to_addresses: [[String]]
        var content_type: String
    }

    static func parse(_ message: [UInt8]) throws -> Parsed {
        try JSONDecoder().decode(Parsed.self, from: Data(try run("check_mime.py", input: message).utf8))
    }
}

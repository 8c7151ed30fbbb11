import Foundation
import Testing

@testable import VivierMail

/// Postfix's `smtp-sink` in its fault modes: the reply class must decide the outcome.
final class SMTPSink: @unchecked Sendable {
    static let path = "/usr/sbin/smtp-sink"
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: path)
            || ProcessInfo.processInfo.environment["VIVIER_REQUIRE_PEERS"] == "1"
    }

    let process = Process()
    let port: Int

    init(_ options: [String]) throws {
        port = Self.freePort()
        process.executableURL = URL(fileURLWithPath: Self.path)
        // smtp-sink refuses to run as root without a user to switch to.
        process.arguments = (getuid() == 0 ? ["-u", "nobody"] : []) + options + ["127.0.0.1:\(port)", "64"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until it accepts connections.
        for _ in 0..<100 where !Self.isListening(port) { usleep(20_000) }
    }

    /// smtp-sink ignores SIGTERM; it holds nothing worth a clean exit.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            } == 0
        }
    }
}

@Suite("Reply classes decide the outcome (Postfix smtp-sink)", .serialized)
struct SMTPFaultTests {
    let envelope = Envelope(
        sender: "bounce+x@atelier-boreal.example", recipients: ["helene@example.com"],
        data: Array("From: a@atelier-boreal.example\r\nTo: helene@example.com\r\nSubject: x\r\n\r\n.hello\r\n".utf8))

    func send(_ options: [String]) async throws -> SMTPOutcome {
        let sink = try SMTPSink(options)
        defer { sink.stop() }
        var config = SMTPConfiguration(host: "127.0.0.1", port: sink.port, security: .none, heloName: "vivier.test")
        config.timeouts.command = .seconds(5)
        config.timeouts.dataPhase = .seconds(5)
        let pool = SMTPPool(configuration: config)
        let outcome = await pool.send(envelope)
        await pool.shutdown()
        return outcome
    }

    @Test(.enabled(if: SMTPSink.available)) func accepted_isSent() async throws {
        guard case .sent = try await send([]) else { Issue.record("expected sent"); return }
    }

    @Test(.enabled(if: SMTPSink.available)) func temporaryRejection_isTransient() async throws {
        guard case .transientFailure(let reason) = try await send(["-r", "RCPT"]) else {
            Issue.record("expected transient"); return
        }
        #expect(reason.hasPrefix("450"))
    }

    @Test(.enabled(if: SMTPSink.available)) func permanentRejection_isPermanentWithTheServersWords() async throws {
        guard case .permanentFailure(let reason) = try await send(["-f", "RCPT"]) else {
            Issue.record("expected permanent"); return
        }
        #expect(reason.hasPrefix("500") && reason.contains("Error: command failed"))
    }

    @Test(.enabled(if: SMTPSink.available)) func serviceClosing421_isTransient() async throws {
        guard case .transientFailure = try await send(["-Q", "MAIL"]) else {
            Issue.record("expected transient"); return
        }
    }

    @Test(.enabled(if: SMTPSink.available)) func droppedBeforeTheDot_isTransient() async throws {
        guard case .transientFailure = try await send(["-q", "DATA"]) else {
            Issue.record("expected transient"); return
        }
    }

    @Test(.enabled(if: SMTPSink.available)) func droppedAfterTheDot_isInDoubt() async throws {
        guard case .inDoubt = try await send(["-q", "."]) else { Issue.record("expected in doubt"); return }
    }

    @Test(.enabled(if: SMTPSink.available)) func rejectedAfterData_isPermanent() async throws {
        guard case .permanentFailure = try await send(["-f", "."]) else { Issue.record("expected permanent"); return }
    }
}

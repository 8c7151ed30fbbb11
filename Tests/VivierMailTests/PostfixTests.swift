import Foundation
import Testing

@testable import VivierMail

/// A real Postfix `smtpd` on loopback, configured to reject bare newlines (exclusions emptied: by default loopback
/// is exempt) and commands sent ahead of time where pipelining does not allow it. Messages are discarded after
/// acceptance. Needs root, as Postfix does.
final class PostfixServer: @unchecked Sendable {
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix") && getuid() == 0
    }

    let directory: URL
    let port: Int
    let process = Process()
    let log: URL

    init() throws {
        directory = URL(fileURLWithPath: "/tmp/vivier-postfix-\(UUID().uuidString.prefix(8))")
        port = SMTPSink.freePort()
        log = directory.appendingPathComponent("postfix.log")
        let conf = directory.appendingPathComponent("conf"), queue = directory.appendingPathComponent("queue"),
            data = directory.appendingPathComponent("data")
        for folder in [conf, queue, data] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        var master = try String(contentsOfFile: "/etc/postfix/master.cf", encoding: .utf8)
        master = master.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("smtp ") && line.contains(" inet ") ? "127.0.0.1:\(port) inet n - n - - smtpd" : String(line)
        }.joined(separator: "\n")
        try master.write(to: conf.appendingPathComponent("master.cf"), atomically: true, encoding: .utf8)
        let main = """
            compatibility_level = 3.6
            queue_directory = \(queue.path)
            data_directory = \(data.path)
            command_directory = /usr/sbin
            daemon_directory = /usr/lib/postfix/sbin
            mail_owner = postfix
            setgid_group = postdrop
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            myhostname = postfix.test
            mydestination =
            mynetworks = 127.0.0.0/8
            relay_domains = example.com
            transport_maps = inline:{ example.com=discard: }
            smtpd_recipient_restrictions = permit_auth_destination, reject
            smtpd_data_restrictions = reject_unauth_pipelining
            smtpd_forbid_bare_newline = reject
            smtpd_forbid_bare_newline_exclusions =
            maillog_file = /dev/stdout
            alias_maps =
            alias_database =
            smtpd_tls_security_level = none

            """
        try main.write(to: conf.appendingPathComponent("main.cf"), atomically: true, encoding: .utf8)
        for folder in [queue, data] {
            let chown = Process()
            chown.executableURL = URL(fileURLWithPath: "/bin/chown")
            chown.arguments = ["-R", "postfix", folder.path]
            try chown.run()
            chown.waitUntilExit()
        }
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/postfix")
        process.arguments = ["-c", conf.path, "start-fg"]
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        for _ in 0..<250 where !SMTPSink.isListening(port) { usleep(20_000) }
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func stop() {
        let stop = Process()
        stop.executableURL = URL(fileURLWithPath: "/usr/sbin/postfix")
        stop.arguments = ["-c", directory.appendingPathComponent("conf").path, "stop"]
        try? stop.run()
        stop.waitUntilExit()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("A strict Postfix accepts what Vivier sends", .serialized)
struct PostfixTests {
    @Test(.enabled(if: PostfixServer.available))
    func everyMessageKind_isAcceptedWithoutBareNewlineOrPipeliningComplaints() async throws {
        let postfix = try PostfixServer()
        defer { postfix.stop() }
        var config = SMTPConfiguration(host: "127.0.0.1", port: postfix.port, security: .none, heloName: "vivier.test")
        config.poolSize = 2
        let pool = SMTPPool(configuration: config)
        let messages = try SMTPTests().messages()
        let envelopes = try (messages + messages).map { message in
            Envelope(sender: "bounce@vivier.test", recipients: message.to.map(\.address), data: try message.render())
        }
        // One at a time, then all at once: chained on a connection, each next envelope behind the last final dot.
        var outcomes: [SMTPOutcome] = []
        for envelope in envelopes { outcomes.append(await pool.send(envelope)) }
        outcomes += await pool.send(envelopes)
        await pool.shutdown()
        #expect(outcomes.count == envelopes.count * 2)
        #expect(outcomes.allSatisfy { if case .sent = $0 { true } else { false } }, "\(outcomes)")
        // Give the log a moment, then look for any complaint.
        try await Task.sleep(for: .milliseconds(300))
        let log = postfix.logText
        #expect(log.contains("daemon started"))
        #expect(!log.contains("bare <LF>") && !log.contains("improper command pipelining"), "\(log)")
    }
}

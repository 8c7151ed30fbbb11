import Crypto
import Foundation
import NIOCore
import NIOSSL
import Testing

@testable import VivierMail

/// A running aiosmtpd (Tests/Peers/smtp_peer.py) that saves what it receives.
final class SMTPPeer: @unchecked Sendable {
    let process = Process()
    let stdin = Pipe()
    let port: Int
    let directory: URL
    let certificate: URL?

    init(tls: Bool = false, auth: (String, String)? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = [Peers.directory.appendingPathComponent("smtp_peer.py").path, directory.path]
        if tls {
            let cert = directory.appendingPathComponent("cert.pem"), key = directory.appendingPathComponent("key.pem")
            _ = try DKIMTests.openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.path, "-out", cert.path, "-days", "1",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost",
            ])
            arguments += ["--tls", cert.path, key.path]
            certificate = cert
        } else {
            certificate = nil
        }
        if let auth { arguments += ["--auth", auth.0, auth.1] }
        guard let python = Peers.python else { throw Peers.Failure(description: "no Python peers: run scripts/test") }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while let byte = try stdout.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line += byte
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            throw Peers.Failure(description: "smtp peer did not start")
        }
        self.port = port
    }

    /// The messages received so far: DATA bytes and envelope.
    func received() throws -> [(data: [UInt8], envelope: [String: Any])] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".eml") }
            .sorted { Int($0.dropLast(4))! < Int($1.dropLast(4))! }
        return try files.map { name in
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            let json = try Data(
                contentsOf: directory.appendingPathComponent(name.replacingOccurrences(of: ".eml", with: ".json")))
            return (Array(data), try JSONSerialization.jsonObject(with: json) as! [String: Any])
        }
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("SMTP client against a real server (aiosmtpd)", .serialized)
struct SMTPTests {
    func configuration(_ peer: SMTPPeer, security: SMTPConfiguration.Security, auth: Bool = false) throws
        -> SMTPConfiguration
    {
        var config = SMTPConfiguration(
            host: security == .none ? "127.0.0.1" : "localhost", port: peer.port, security: security,
            username: auth ? "vivier" : nil, password: auth ? "s3cret pass" : nil, heloName: "vivier.test")
        if let certificate = peer.certificate {
            config.additionalTrustRoots = [try NIOSSLCertificate(file: certificate.path, format: .pem)]
        }
        config.poolSize = 2
        return config
    }

    /// Messages that exercise the DATA writer: dot lines, long lines, French text, an attachment.
    func messages() throws -> [MailMessage] {
        let from = try MailAddress("recrutement@atelier-boreal.example", name: "Atelier Boréal")
        var result: [MailMessage] = []
        let bodies = [
            ".\n..\n.point en tête de ligne\nfin.",
            String(repeating: "Une très longue ligne sans retour ", count: 100),
            "Bonjour Hélène,\n\nÀ bientôt — l’équipe « recrutement ».\n",
            "",
        ]
        for (index, body) in bodies.enumerated() {
            result.append(
                MailMessage(
                    from: from, to: [try MailAddress("candidate\(index)@example.com", name: "Zoé \(index)")],
                    subject: "Test \(index) : éèà",
                    text: body, html: index == 2 ? "<p>\(body)</p>" : nil,
                    attachments: index == 1
                        ? [
                            Attachment(
                                filename: "cv.pdf", mediaType: "application/pdf",
                                bytes: (0..<20_000).map { UInt8($0 % 251) })
                        ] : []))
        }
        return result
    }

    func sendAll(_ transport: any MailTransport, _ messages: [MailMessage]) async throws -> [(SMTPOutcome, [UInt8])] {
        var outcomes: [(SMTPOutcome, [UInt8])] = []
        for message in messages {
            let data = try message.render()
            outcomes.append(
                (
                    await transport.send(
                        Envelope(
                            sender: "bounce+t1@atelier-boreal.example", recipients: message.to.map(\.address),
                            data: data)), data
                ))
        }
        return outcomes
    }

    func expectByteIdentical(_ peer: SMTPPeer, _ sent: [(SMTPOutcome, [UInt8])]) throws {
        let received = try peer.received()
        #expect(received.count == sent.count)
        for ((outcome, data), got) in zip(sent, received) {
            guard case .sent = outcome else {
                Issue.record("not sent: \(outcome)")
                continue
            }
            // The server hands back exactly our bytes: dot-stuffing was undone, nothing else changed (the DATA
            // terminator adds a final CRLF when the message lacked one).
            let expected = data.suffix(2) == [0x0D, 0x0A] ? data : data + [0x0D, 0x0A]
            #expect(SHA256.hash(data: got.data) == SHA256.hash(data: expected))
        }
    }

    @Test(.enabled(if: Peers.available)) func startTLSAndAuth_deliverByteIdenticalMessages() async throws {
        let peer = try SMTPPeer(tls: true, auth: ("vivier", "s3cret pass"))
        defer { peer.stop() }
        let pool = SMTPPool(configuration: try configuration(peer, security: .startTLSRequired, auth: true))
        let sent = try await sendAll(pool, try messages())
        await pool.shutdown()
        try expectByteIdentical(peer, sent)
        let envelopes = try peer.received().map(\.envelope)
        #expect(envelopes.allSatisfy { $0["tls"] as? Bool == true && $0["auth"] as? Bool == true })
        #expect(envelopes.first?["from"] as? String == "bounce+t1@atelier-boreal.example")
        #expect((envelopes.first?["to"] as? [String]) == ["candidate0@example.com"])
    }

    @Test(.enabled(if: Peers.available)) func plainConnection_pipelinesAndReusesConnections() async throws {
        let peer = try SMTPPeer()
        defer { peer.stop() }
        let pool = SMTPPool(configuration: try configuration(peer, security: .none))
        let messages = try messages()
        // Concurrent senders share the pool's two connections.
        let outcomes = await withTaskGroup(of: SMTPOutcome.self) { group in
            for round in 0..<5 {
                for message in messages {
                    group.addTask {
                        let data = try! message.render()
                        return await pool.send(
                            Envelope(
                                sender: "b\(round)@atelier-boreal.example", recipients: message.to.map(\.address),
                                data: data))
                    }
                }
            }
            var all: [SMTPOutcome] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        await pool.shutdown()
        #expect(outcomes.count == 20)
        #expect(outcomes.allSatisfy { if case .sent = $0 { true } else { false } }, "\(outcomes)")
        #expect(try peer.received().count == 20)
    }

    @Test(.enabled(if: Peers.available)) func aRefusedRecipient_sendsNothingAndTheConnectionGoesOn() async throws {
        let peer = try SMTPPeer()
        defer { peer.stop() }
        let pool = SMTPPool(configuration: try configuration(peer, security: .none))
        let data = try messages()[0].render()
        func send(_ recipients: [String]) async -> SMTPOutcome {
            await pool.send(Envelope(sender: "b@atelier-boreal.example", recipients: recipients, data: data))
        }
        // One of two recipients refused after DATA was pipelined: the other must not get an empty or partial
        // message; the whole message fails with the server's words.
        let partial = await send(["ok1@example.com", "refused@example.com"])
        // Only refused recipients, then the next message on the same pool.
        let none = await send(["refused2@example.com"])
        let next = await send(["ok2@example.com"])
        let after = await send(["ok3@example.com"])
        await pool.shutdown()
        for outcome in [partial, none] {
            guard case .permanentFailure(let reason) = outcome else {
                Issue.record("expected a permanent failure, got \(outcome)")
                continue
            }
            #expect(reason.contains("5.1.1"))
        }
        #expect(next == .sent(SMTPReply(code: 250, lines: ["2.0.0 OK saved"])))
        #expect(after == .sent(SMTPReply(code: 250, lines: ["2.0.0 OK saved"])))
        let received = try peer.received()
        #expect(received.map { $0.envelope["to"] as? [String] ?? [] } == [["ok2@example.com"], ["ok3@example.com"]])
    }

    /// One message per recipient, the sample messages in turn.
    func envelopes(to recipients: [String]) throws -> [Envelope] {
        let messages = try messages()
        return try recipients.enumerated().map { index, recipient in
            Envelope(
                sender: "b@atelier-boreal.example", recipients: [recipient],
                data: try messages[index % messages.count].render())
        }
    }

    @Test(.enabled(if: Peers.available)) func aBatch_goesOutInOrderOnOneConnection_pastARefusal() async throws {
        let peer = try SMTPPeer()
        defer { peer.stop() }
        var configuration = try configuration(peer, security: .none)
        configuration.poolSize = 1
        configuration.messagesPerConnection = 3
        let pool = SMTPPool(configuration: configuration)
        let envelopes = try envelopes(to: [
            "a@example.com", "b@example.com", "refused@example.com", "c@example.com", "d@example.com",
        ])
        // Chained on the connection, past a refused recipient and past the connection's message limit.
        let outcomes = await pool.send(envelopes)
        await pool.shutdown()
        #expect(outcomes.count == 5)
        #expect(
            outcomes.enumerated().allSatisfy { index, outcome in
                if case .sent = outcome {
                    index != 2
                } else if case .permanentFailure = outcome {
                    index == 2
                } else {
                    false
                }
            }, "\(outcomes)")
        let sent = zip(outcomes, envelopes.map(\.data)).enumerated().filter { $0.offset != 2 }.map(\.element)
        try expectByteIdentical(peer, sent)
        #expect(
            try peer.received().map { $0.envelope["to"] as? [String] ?? [] } == [
                ["a@example.com"], ["b@example.com"], ["c@example.com"], ["d@example.com"],
            ])
    }

    @Test(.enabled(if: Peers.available)) func aMessageRefusedAtItsDot_doesNotStopTheChain() async throws {
        let peer = try SMTPPeer()
        defer { peer.stop() }
        var configuration = try configuration(peer, security: .none)
        configuration.poolSize = 1
        let pool = SMTPPool(configuration: configuration)
        // The next envelope is written behind each final dot: it must survive the refusal of the message before.
        let envelopes = try envelopes(to: [
            "a@example.com", "spam@example.com", "b@example.com", "spam2@example.com", "c@example.com",
        ])
        let outcomes = await pool.send(envelopes)
        await pool.shutdown()
        #expect(outcomes.count == 5)
        for (index, outcome) in outcomes.enumerated() {
            if index % 2 == 1 {
                #expect(outcome == .permanentFailure("554 5.7.1 message refused as spam"), "\(index)")
            } else {
                #expect(outcome == .sent(SMTPReply(code: 250, lines: ["2.0.0 OK saved"])), "\(index)")
            }
        }
        try expectByteIdentical(peer, [0, 2, 4].map { (outcomes[$0], envelopes[$0].data) })
    }

    @Test(.enabled(if: Peers.available)) func startTLSRequired_refusesAServerWithoutIt() async throws {
        let peer = try SMTPPeer()
        defer { peer.stop() }
        var config = try configuration(peer, security: .startTLSRequired)
        config.host = "127.0.0.1"
        #expect(try await Self.failure(config).contains("STARTTLS"))
        #expect(try peer.received().isEmpty)
    }

    @Test(.enabled(if: Peers.available)) func wrongPassword_isNotSent() async throws {
        let peer = try SMTPPeer(tls: true, auth: ("vivier", "right"))
        defer { peer.stop() }
        let config = try configuration(peer, security: .startTLSRequired, auth: true)
        #expect(try await Self.failure(config).contains("authentication failed"))
    }

    /// Sends one small message with `config` and returns the reason of the transient failure it must end in.
    static func failure(_ config: SMTPConfiguration) async throws -> String {
        let pool = SMTPPool(configuration: config)
        let outcome = await pool.send(
            Envelope(
                sender: "a@atelier-boreal.example", recipients: ["b@example.com"],
                data: Array("Subject: x\r\n\r\nx\r\n".utf8)))
        await pool.shutdown()
        guard case .transientFailure(let reason) = outcome else {
            throw Peers.Failure(description: "expected a failure, got \(outcome)")
        }
        return reason
    }

    @Test func dotStuffing_isDoneInTheWriterOnly() throws {
        let buffer = try SMTPConnection.dotStuffed(Array(".a\r\nb\r\n..c\r\n.".utf8), allocator: ByteBufferAllocator())
        #expect(String(buffer: buffer) == "..a\r\nb\r\n...c\r\n..\r\n.\r\n")
        #expect(throws: SMTPError.bareLineBreak) {
            try SMTPConnection.dotStuffed(Array("a\nb".utf8), allocator: ByteBufferAllocator())
        }
        #expect(throws: SMTPError.bareLineBreak) {
            try SMTPConnection.dotStuffed(Array("a\rb".utf8), allocator: ByteBufferAllocator())
        }
        #expect(String(buffer: try SMTPConnection.dotStuffed([], allocator: ByteBufferAllocator())) == ".\r\n")
    }

    @Test func replyParser_readsMultilineRepliesAndRefusesGarbage() throws {
        var parser = SMTPReplyParser()
        parser.feed(Array("250-smtp.example Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n354 go".utf8))
        let reply = try #require(try parser.next())
        #expect(reply.code == 250 && reply.lines == ["smtp.example Hello", "PIPELINING", "SIZE 1000", "STARTTLS"])
        #expect(try parser.next() == nil)
        #expect(parser.hasBufferedBytes)
        parser.feed(Array("\r\n".utf8))
        #expect(try parser.next()?.code == 354)
        var bad = SMTPReplyParser()
        bad.feed(Array("250-a\r\n550 b\r\n".utf8))
        #expect(throws: SMTPReplyParser.Failure.self) { try bad.next() }
        var noise = SMTPReplyParser()
        noise.feed(Array("hello\r\n".utf8))
        #expect(throws: SMTPReplyParser.Failure.self) { try noise.next() }
        #expect(SMTPReply(code: 550, lines: ["5.1.1 <x@y.z>: unknown user"]).enhancedCode == "5.1.1")
    }

    @Test func configuration_isParsedFromAURL() throws {
        let config = try SMTPConfiguration.parse(
            "smtp://user%40x:p%3Ass@mail.example.com:2525?starttls=opportunistic&pool=8", heloName: "h")
        #expect(config.host == "mail.example.com" && config.port == 2525 && config.security == .startTLSOpportunistic)
        #expect(config.username == "user@x" && config.password == "p:ss" && config.poolSize == 8)
        #expect(config.inFlightWindow == 32)
        #expect(try SMTPConfiguration.parse("smtp://h?in_flight=1", heloName: "h").inFlightWindow == 1)
        #expect(try SMTPConfiguration.parse("smtps://mail.example.com", heloName: "h").port == 465)
        #expect(try SMTPConfiguration.parse("smtp://mail.example.com", heloName: "h").security == .startTLSRequired)
        for bad in [
            "http://x", "smtp://", "smtp://x?starttls=maybe", "smtp://x?pool=0", "smtp://x?in_flight=0",
            "smtp://x?in_flight=300",
            "smtp://u:p@remote.example?starttls=off",
        ] {
            #expect(throws: SMTPConfiguration.Invalid.self) { try SMTPConfiguration.parse(bad, heloName: "h") }
        }
    }
}

import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// What happened to one message handed to the server. The reply class decides (RFC 5321 §4.2.1), and a connection
/// lost after the final dot is neither sent nor failed: the server may have taken the message.
public enum SMTPOutcome: Sendable, Equatable {
    case sent(SMTPReply)
    /// 4xx, 421, a dropped connection before the final dot, a timeout: try again later.
    case transientFailure(String)
    /// 5xx: do not retry; the server's words say why.
    case permanentFailure(String)
    /// The connection died after the final dot was written and before the reply: delivery unknown.
    case inDoubt(String)
}

public enum SMTPError: Error, CustomStringConvertible, Equatable {
    case connectionClosed
    case timeout(String)
    case unexpectedReply(String)
    case tlsRequiredButNotOffered
    /// Bytes arrived after the STARTTLS reply and before the handshake: possible injection (RFC 3207 §6).
    case plaintextAfterStartTLS
    case authenticationFailed(String)
    case protocolViolation(String)
    case bareLineBreak

    public var description: String {
        switch self {
        case .connectionClosed: "the connection was closed"
        case .timeout(let step): "no reply in time to \(step)"
        case .unexpectedReply(let reply): "unexpected reply: \(reply)"
        case .tlsRequiredButNotOffered: "the server does not offer STARTTLS and TLS is required"
        case .plaintextAfterStartTLS: "the server sent data after agreeing to STARTTLS; connection dropped"
        case .authenticationFailed(let reply): "authentication failed: \(reply)"
        case .protocolViolation(let detail): "malformed reply from the server: \(detail)"
        case .bareLineBreak: "the message contains a bare CR or LF"
        }
    }
}

/// Reads replies and hands each to the oldest waiting command. Runs on the channel's event loop only.
final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var parser = SMTPReplyParser()
    private var waiting: CircularBuffer<(promise: EventLoopPromise<SMTPReply>, timeout: Scheduled<Void>?)> = []
    /// Replies that arrived before anyone asked (the greeting, a 421 on an idle connection): the next command
    /// gets them first, so nothing the server says is lost or misattributed.
    private var unclaimed: CircularBuffer<SMTPReply> = []
    private var failure: (any Error)?

    var hasBufferedBytes: Bool { parser.hasBufferedBytes }

    /// Registers the next expected reply; must be called on the event loop before the command is written.
    func expect(_ promise: EventLoopPromise<SMTPReply>, timeout: TimeAmount, step: String, channel: any Channel) {
        if let reply = unclaimed.popFirst() {
            promise.succeed(reply)
            return
        }
        if let failure {
            promise.fail(failure)
            return
        }
        let scheduled = channel.eventLoop.scheduleTask(in: timeout) { [weak self] in
            self?.failAll(SMTPError.timeout(step))
            channel.close(promise: nil)
        }
        waiting.append((promise, scheduled))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        parser.feed(buffer.readableBytesView)
        do {
            while let reply = try parser.next() {
                guard !waiting.isEmpty else {
                    guard unclaimed.count < 8 else { throw SMTPError.unexpectedReply(reply.description) }
                    unclaimed.append(reply)
                    continue
                }
                let next = waiting.removeFirst()
                next.timeout?.cancel()
                next.promise.succeed(reply)
            }
        } catch let error as SMTPReplyParser.Failure {
            failAll(SMTPError.protocolViolation("\(error)"))
            context.close(promise: nil)
        } catch {
            failAll(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(SMTPError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        if failure == nil { failure = error }
        while !waiting.isEmpty {
            let next = waiting.removeFirst()
            next.timeout?.cancel()
            next.promise.fail(error)
        }
    }
}

/// One SMTP session on SwiftNIO: greeting, EHLO, STARTTLS or implicit TLS, AUTH, then transactions (pipelined when
/// the server offers PIPELINING, RFC 2920). Not for concurrent use: the pool hands a connection to one sender at a time.
public final class SMTPConnection: @unchecked Sendable {
    let channel: any Channel
    let handler: SMTPReplyHandler
    let configuration: SMTPConfiguration
    public private(set) var capabilities: [String: String] = [:]
    /// Transactions attempted on this connection (the pool recycles it after `messagesPerConnection`).
    public private(set) var transactions = 0
    /// False once the connection is broken or in an unknown state; it is then only closed.
    public private(set) var isUsable = true
    var lastUsed = NIODeadline.now()
    /// A transaction happened since the last RSET: the next one starts with RSET, pipelined with its envelope.
    private var needsReset = false

    private init(channel: any Channel, handler: SMTPReplyHandler, configuration: SMTPConfiguration) {
        self.channel = channel
        self.handler = handler
        self.configuration = configuration
    }

    // MARK: - Opening

    public static func open(_ configuration: SMTPConfiguration, on group: any EventLoopGroup) async throws
        -> SMTPConnection
    {
        let handler = SMTPReplyHandler()
        let tls = try configuration.security == .none ? nil : makeTLSContext(configuration)
        let implicit = configuration.security == .implicitTLS
        let serverName = Self.isIPAddress(configuration.host) ? nil : configuration.host
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(configuration.timeouts.connect)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicit, let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: configuration.host, port: configuration.port).get()
        let connection = SMTPConnection(channel: channel, handler: handler, configuration: configuration)
        do {
            let greeting = try await connection.awaitReply(
                timeout: configuration.timeouts.greeting, step: "the greeting")
            guard greeting.code == 220 else { throw SMTPError.unexpectedReply(greeting.description) }
            try await connection.hello()
            if !implicit, configuration.security != .none, let tls {
                if connection.capabilities["STARTTLS"] != nil {
                    try await connection.startTLS(tls, serverName: serverName)
                } else if configuration.security == .startTLSRequired {
                    throw SMTPError.tlsRequiredButNotOffered
                }
            }
            if let username = configuration.username, let password = configuration.password {
                try await connection.authenticate(username: username, password: password)
            }
        } catch {
            connection.isUsable = false
            try? await channel.close()
            throw error
        }
        return connection
    }

    static func makeTLSContext(_ configuration: SMTPConfiguration) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if !configuration.additionalTrustRoots.isEmpty {
            tls.additionalTrustRoots = [.certificates(configuration.additionalTrustRoots)]
        }
        return try NIOSSLContext(configuration: tls)
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    private func hello() async throws {
        let reply = try await command("EHLO \(configuration.heloName)", step: "EHLO")
        guard reply.code == 250 else { throw SMTPError.unexpectedReply(reply.description) }
        var capabilities: [String: String] = [:]
        for line in reply.lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            capabilities[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
        self.capabilities = capabilities
    }

    private func startTLS(_ context: NIOSSLContext, serverName: String?) async throws {
        let reply = try await command("STARTTLS", step: "STARTTLS")
        guard reply.code == 220 else { throw SMTPError.unexpectedReply(reply.description) }
        let handler = self.handler
        try await channel.eventLoop.submit {
            // Anything already received was sent in clear after the 220: never let it pass for a TLS answer.
            guard !handler.hasBufferedBytes else { throw SMTPError.plaintextAfterStartTLS }
            try self.channel.pipeline.syncOperations.addHandler(
                NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
        }.get()
        // Capabilities before TLS are forgotten: ask again through the secured channel.
        capabilities = [:]
        try await hello()
    }

    private func authenticate(username: String, password: String) async throws {
        guard !username.hasLineBreakOrNUL, !password.contains("\r"), !password.contains("\n") else {
            throw SMTPError.authenticationFailed("credentials contain a line break")
        }
        let mechanisms = Set((capabilities["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
        let reply: SMTPReply
        if mechanisms.contains("PLAIN") || mechanisms.isEmpty {
            let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            reply = try await command("AUTH PLAIN \(token)", step: "AUTH")
        } else if mechanisms.contains("LOGIN") {
            let first = try await command("AUTH LOGIN", step: "AUTH")
            guard first.code == 334 else { throw SMTPError.authenticationFailed(first.description) }
            let second = try await command(Data(username.utf8).base64EncodedString(), step: "AUTH")
            guard second.code == 334 else { throw SMTPError.authenticationFailed(second.description) }
            reply = try await command(Data(password.utf8).base64EncodedString(), step: "AUTH")
        } else {
            throw SMTPError.authenticationFailed(
                "no supported mechanism among \(mechanisms.sorted().joined(separator: ", "))")
        }
        guard reply.code == 235 else { throw SMTPError.authenticationFailed(reply.description) }
    }

    // MARK: - Commands

    func awaitReply(timeout: TimeAmount, step: String) async throws -> SMTPReply {
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        let handler = self.handler, channel = self.channel
        channel.eventLoop.execute { handler.expect(promise, timeout: timeout, step: step, channel: channel) }
        return try await promise.futureResult.get()
    }

    /// Sends lines in one write and returns their replies in order (one command unless pipelining).
    func send(_ lines: [String], timeout: TimeAmount? = nil, step: String) async throws -> [SMTPReply] {
        let buffer = try Self.commands(lines, allocator: channel.allocator)
        let handler = self.handler, channel = self.channel
        let promises = lines.map { _ in channel.eventLoop.makePromise(of: SMTPReply.self) }
        let wait = timeout ?? configuration.timeouts.command
        try await channel.eventLoop.submit {
            for promise in promises { handler.expect(promise, timeout: wait, step: step, channel: channel) }
            channel.writeAndFlush(buffer, promise: nil)
        }.get()
        var replies: [SMTPReply] = []
        for promise in promises { replies.append(try await promise.futureResult.get()) }
        return replies
    }

    func command(_ line: String, step: String) async throws -> SMTPReply {
        try await send([line], step: step)[0]
    }

    // MARK: - Transactions

    /// What the envelope group brought back: the replies when something was refused, or the final reply when every
    /// command was accepted and the message went out.
    private enum Exchange: Sendable {
        case refused([SMTPReply])
        case finished(SMTPReply)
    }

    /// The connection failed after the message's final dot was written: the server may have it.
    private struct AfterFinalDot: Error, CustomStringConvertible {
        var underlying: any Error
        var description: String { "\(underlying)" }
    }

    /// The exchanges of a chain completed before the connection broke, and what broke it.
    private struct Interrupted: Error {
        var exchanges: [Exchange]
        var error: any Error
    }

    /// A message ready for the wire: its envelope commands (RSET first on a reused connection, DATA last) and its
    /// dot-stuffed content.
    private struct Prepared: Sendable {
        var lines: [String]
        var commands: ByteBuffer
        var data: ByteBuffer
        var reset: Bool
        /// MAIL is the first line, then one RCPT per recipient.
        var recipients: Int { lines.count - 1 }
        /// The replies the pipelined group brings: RSET's when sent, MAIL's, each RCPT's, DATA's.
        var replyCount: Int { lines.count + (reset ? 2 : 1) }
    }

    /// A message refused before anything was written.
    private struct NotSendable: Error {
        var outcome: SMTPOutcome
    }

    /// Sends one message. Its data must use CRLF line ends only (what `MailMessage.render` and DKIM produce); it is
    /// dot-stuffed here, and only here. With PIPELINING the whole exchange is two round trips on the event loop: RSET (on a reused connection),
    /// MAIL, RCPT and DATA in one write; the message as soon as every reply is positive and DATA's is 354; then the
    /// final reply. Any refusal comes back to the checks of `refused`.
    func deliver(_ envelope: Envelope) async -> SMTPOutcome {
        transactions += 1
        lastUsed = .now()
        guard isUsable else { return .transientFailure("connection not usable") }
        let item: Prepared
        do { item = try prepare(envelope, reset: needsReset) } catch { return error.outcome }
        needsReset = true
        guard capabilities["PIPELINING"] != nil else { return await deliverStepByStep(item) }
        let loop = channel.eventLoop
        let exchange = loop.makePromise(of: Exchange.self)
        loop.execute {
            self.exchange(item, envelope: self.writeEnvelope(item), next: nil).map(\.0).cascade(to: exchange)
        }
        do {
            return await outcome(of: try await exchange.futureResult.get(), item)
        } catch {
            isUsable = false
            return error is AfterFinalDot ? .inDoubt("\(error)") : .transientFailure("\(error)")
        }
    }

    /// Several messages in order, each exchange chained to the previous one on the event loop (no hop back to
    /// the caller between messages), the next message's envelope written behind each final dot: one round trip
    /// per message instead of two. Returns the outcomes of those attempted — at least the first —; the caller
    /// sends the rest on another connection.
    func deliver(_ envelopes: ArraySlice<Envelope>) async -> [SMTPOutcome] {
        guard let first = envelopes.first else { return [] }
        guard capabilities["PIPELINING"] != nil, isUsable, envelopes.count > 1 else { return [await deliver(first)] }
        // The messages that pass the checks made before the wire, up to this connection's message limit.
        var items: [Prepared] = []
        var reset = needsReset
        for envelope in envelopes.prefix(max(configuration.messagesPerConnection - transactions, 1)) {
            guard let item = try? prepare(envelope, reset: reset) else { break }
            items.append(item)
            reset = true
        }
        guard items.count > 1 else { return [await deliver(first)] }
        let chain = items, loop = channel.eventLoop
        let done = loop.makePromise(of: [Exchange].self)
        loop.execute {
            @Sendable func step(_ index: Int, envelope: [EventLoopFuture<SMTPReply>], _ exchanges: [Exchange]) {
                let next = index + 1 < chain.count ? chain[index + 1] : nil
                self.exchange(chain[index], envelope: envelope, next: next).whenComplete { result in
                    switch result {
                    case .success((let exchange, let nextEnvelope)):
                        // A refused envelope ends the chain before anything of the next message was written; a
                        // refused message does not (the server is ready for the next transaction either way).
                        guard let nextEnvelope else { return done.succeed(exchanges + [exchange]) }
                        step(index + 1, envelope: nextEnvelope, exchanges + [exchange])
                    case .failure(let error):
                        done.fail(Interrupted(exchanges: exchanges, error: error))
                    }
                }
            }
            step(0, envelope: self.writeEnvelope(chain[0]), [])
        }
        var exchanges: [Exchange]
        var failure: (any Error)?
        do {
            exchanges = try await done.futureResult.get()
        } catch let interrupted as Interrupted {
            (exchanges, failure) = (interrupted.exchanges, interrupted.error)
        } catch {
            (exchanges, failure) = ([], error)
        }
        transactions += exchanges.count + (failure == nil ? 0 : 1)
        lastUsed = .now()
        needsReset = true
        var outcomes: [SMTPOutcome] = []
        for (exchange, item) in zip(exchanges, items) { outcomes.append(await outcome(of: exchange, item)) }
        if let failure {
            isUsable = false
            outcomes.append(failure is AfterFinalDot ? .inDoubt("\(failure)") : .transientFailure("\(failure)"))
        }
        return outcomes
    }

    /// The checks made before anything is written (SMTPUTF8, SIZE, line breaks), then the wire form.
    private func prepare(_ envelope: Envelope, reset: Bool) throws(NotSendable) -> Prepared {
        let data = envelope.data
        if envelope.needsSMTPUTF8 && capabilities["SMTPUTF8"] == nil {
            throw NotSendable(
                outcome: .permanentFailure("the server does not accept international addresses (no SMTPUTF8)"))
        }
        if let limit = capabilities["SIZE"].flatMap(Int.init), limit > 0, data.count > limit {
            throw NotSendable(
                outcome: .permanentFailure(
                    "the message (\(data.count) bytes) is larger than the server accepts (\(limit))"))
        }
        var mail = "MAIL FROM:<\(envelope.sender)>"
        if capabilities["SIZE"] != nil { mail += " SIZE=\(data.count)" }
        if envelope.needsSMTPUTF8 { mail += " SMTPUTF8" }
        let lines = [mail] + envelope.recipients.map { "RCPT TO:<\($0)>" }
        do {
            let pipelined = (reset ? ["RSET"] : []) + lines + ["DATA"]
            return Prepared(
                lines: lines, commands: try Self.commands(pipelined, allocator: channel.allocator),
                data: try Self.dotStuffed(data, allocator: channel.allocator), reset: reset)
        } catch {
            throw NotSendable(outcome: .permanentFailure("\(error)"))
        }
    }

    /// Command lines as one write; refuses a line break inside a line.
    private static func commands(_ lines: [String], allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: lines.reduce(0) { $0 + $1.utf8.count + 2 })
        for line in lines {
            guard !line.hasLineBreakOrNUL else { throw SMTPError.bareLineBreak }
            buffer.writeString(line)
            buffer.writeStaticString("\r\n")
        }
        return buffer
    }

    /// On the event loop: writes a message's pipelined commands; the replies they will bring.
    private func writeEnvelope(_ item: Prepared) -> [EventLoopFuture<SMTPReply>] {
        let envelope = expectEnvelope(item)
        channel.writeAndFlush(item.commands, promise: nil)
        return envelope
    }

    private func expectEnvelope(_ item: Prepared) -> [EventLoopFuture<SMTPReply>] {
        (0..<item.replyCount).map { _ in
            let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
            handler.expect(promise, timeout: configuration.timeouts.command, step: "the envelope", channel: channel)
            return promise.futureResult
        }
    }

    /// On the event loop: once every reply of the message's envelope is positive and DATA's is 354, writes the
    /// message, and behind its final dot the envelope of `next` (RFC 2920 §3.1: message content may open a
    /// group); completes with the final reply and the replies `next`'s envelope will bring, or with the replies of
    /// a group that was not wholly accepted (nothing of `next` written). A failure after the message was written is
    /// `AfterFinalDot`.
    private func exchange(_ item: Prepared, envelope: [EventLoopFuture<SMTPReply>], next: Prepared?)
        -> EventLoopFuture<(Exchange, [EventLoopFuture<SMTPReply>]?)>
    {
        let handler = self.handler, channel = self.channel, loop = channel.eventLoop
        let dataTimeout = configuration.timeouts.dataPhase
        return EventLoopFuture.whenAllSucceed(envelope, on: loop).flatMap { replies in
            guard replies.last?.code == 354, replies.dropLast().allSatisfy(\.isPositive) else {
                return loop.makeSucceededFuture((.refused(replies), nil))
            }
            let final = loop.makePromise(of: SMTPReply.self)
            handler.expect(final, timeout: dataTimeout, step: "the end of the message", channel: channel)
            let nextEnvelope = next.map { self.expectEnvelope($0) }
            if let next {
                channel.write(item.data, promise: nil)
                channel.writeAndFlush(next.commands, promise: nil)
            } else {
                channel.writeAndFlush(item.data, promise: nil)
            }
            return final.futureResult.map { (Exchange.finished($0), nextEnvelope) }.flatMapErrorThrowing {
                throw AfterFinalDot(underlying: $0)
            }
        }
    }

    /// What an exchange means for its message.
    private func outcome(of exchange: Exchange, _ item: Prepared) async -> SMTPOutcome {
        switch exchange {
        case .finished(let reply):
            return Self.outcome(reply)
        case .refused(var replies):
            if item.reset {
                let resetReply = replies.removeFirst()
                guard resetReply.isPositive else {
                    isUsable = false
                    return .transientFailure("RSET refused: \(resetReply.description)")
                }
            }
            return await refused(replies, recipients: item.recipients)
        }
    }

    /// The final reply's class decides (RFC 5321 §4.2.1).
    private static func outcome(_ reply: SMTPReply) -> SMTPOutcome {
        if reply.isPositive { return .sent(reply) }
        return reply.isPermanent ? .permanentFailure(reply.description) : .transientFailure(reply.description)
    }

    /// Without PIPELINING: one command at a time, stopping at the first refusal.
    private func deliverStepByStep(_ item: Prepared) async -> SMTPOutcome {
        var replies: [SMTPReply] = []
        do {
            if item.reset {
                let reply = try await command("RSET", step: "RSET")
                guard reply.isPositive else {
                    isUsable = false
                    return .transientFailure("RSET refused: \(reply.description)")
                }
            }
            for line in item.lines {
                let reply = try await command(line, step: "the envelope")
                replies.append(reply)
                guard reply.isPositive else { break }
            }
            if replies.allSatisfy(\.isPositive) { replies.append(try await command("DATA", step: "DATA")) }
        } catch {
            isUsable = false
            return .transientFailure("\(error)")
        }
        guard replies.count == item.lines.count + 1, replies.allSatisfy(\.isPositive), replies.last?.code == 354 else {
            return await refused(replies, recipients: item.recipients)
        }
        do {
            return Self.outcome(try await send(data: item.data))
        } catch {
            isUsable = false
            return .inDoubt("\(error)")
        }
    }

    /// Writes the dot-stuffed message and waits for the final reply.
    private func send(data: ByteBuffer) async throws -> SMTPReply {
        let handler = self.handler, channel = self.channel, timeout = configuration.timeouts.dataPhase
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        try await channel.eventLoop.submit {
            handler.expect(promise, timeout: timeout, step: "the end of the message", channel: channel)
            channel.writeAndFlush(data, promise: nil)
        }.get()
        return try await promise.futureResult.get()
    }

    /// The outcome of an envelope group that was not wholly accepted (`replies`: MAIL, each RCPT, then DATA's
    /// when it was sent), then RSET. A 354 despite refusals gets an empty message when nobody can receive it (RFC
    /// 2920 §3.1); when some recipients were accepted, the connection is dropped instead, so that they do not
    /// receive an empty message and the whole message is tried again.
    private func refused(_ replies: [SMTPReply], recipients: Int) async -> SMTPOutcome {
        let mailReply = replies[0]
        let rcptReplies = Array(replies.dropFirst().prefix(recipients))
        let dataReply = replies.count == recipients + 2 ? replies.last : nil
        guard
            let failure = ([mailReply] + rcptReplies + (dataReply.map { [$0] } ?? [])).first(where: { !$0.isPositive })
        else { return .transientFailure("DATA was not accepted") }
        let outcome: SMTPOutcome =
            failure.isPermanent ? .permanentFailure(failure.description) : .transientFailure(failure.description)
        if dataReply?.code == 354 {
            guard !mailReply.isPositive || !rcptReplies.contains(where: \.isPositive) else {
                isUsable = false
                try? await channel.close()
                return outcome
            }
            do {
                _ = try await send(["."], timeout: configuration.timeouts.dataPhase, step: "the empty data")
            } catch {
                isUsable = false
                return outcome
            }
        }
        try? await resetAfterFailure()
        return outcome
    }

    private func resetAfterFailure() async throws {
        let reply = try await command("RSET", step: "RSET")
        if !reply.isPositive { isUsable = false }
        needsReset = false
    }

    /// Makes a reused connection ready for the next transaction; false if the server is gone.
    public func reset() async -> Bool {
        guard isUsable else { return false }
        do {
            let reply = try await command("RSET", step: "RSET")
            isUsable = reply.code == 250
            needsReset = false
        } catch {
            isUsable = false
        }
        return isUsable
    }

    /// Says goodbye without waiting long for the answer, then closes.
    public func close() async {
        if isUsable {
            isUsable = false
            _ = try? await send(["QUIT"], timeout: .seconds(2), step: "QUIT")
        }
        try? await channel.close()
    }

    /// The DATA payload: CRLF required everywhere (a bare CR or LF is refused, never repaired silently), a dot
    /// doubled at the start of any line (RFC 5321 §4.5.2), then the terminating `.`.
    static func dotStuffed(_ data: [UInt8], allocator: ByteBufferAllocator) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: data.count + data.count / 64 + 8)
        try data.withUnsafeBufferPointer { bytes in
            let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), dot = UInt8(ascii: ".")
            var lineStart = 0
            while lineStart < bytes.count {
                // One line: up to CR LF, copied as a whole, a dot added in front when it starts with one.
                var end = lineStart
                while end < bytes.count && bytes[end] != cr && bytes[end] != lf { end += 1 }
                if end < bytes.count {
                    guard bytes[end] == cr, end + 1 < bytes.count, bytes[end + 1] == lf else {
                        throw SMTPError.bareLineBreak
                    }
                }
                if bytes[lineStart] == dot { buffer.writeInteger(dot) }
                buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[lineStart..<end]))
                buffer.writeBytes([cr, lf])
                lineStart = end + 2
            }
        }
        buffer.writeBytes([UInt8(ascii: "."), 0x0D, 0x0A])
        return buffer
    }
}

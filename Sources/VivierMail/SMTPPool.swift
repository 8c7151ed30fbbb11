import NIOCore
import NIOPosix

/// A message ready for the wire: envelope plus the rendered (and signed) bytes.
public struct Envelope: Sendable {
    public var sender: String
    public var recipients: [String]
    public var data: [UInt8]
    public var needsSMTPUTF8: Bool

    public init(sender: String, recipients: [String], data: [UInt8], needsSMTPUTF8: Bool = false) {
        self.sender = sender
        self.recipients = recipients
        self.data = data
        self.needsSMTPUTF8 = needsSMTPUTF8
    }
}

/// Something that takes messages: SMTP in production, a Maildir on the embedded default, a recorder in tests of
/// the callers.
public protocol MailTransport: Sendable {
    func send(_ envelope: Envelope) async -> SMTPOutcome
    /// Several messages, in order, one outcome each: a transport may carry them on one connection.
    func send(_ envelopes: [Envelope]) async -> [SMTPOutcome]
    func shutdown() async
}

extension MailTransport {
    public func send(_ envelopes: [Envelope]) async -> [SMTPOutcome] {
        var outcomes: [SMTPOutcome] = []
        for envelope in envelopes { outcomes.append(await send(envelope)) }
        return outcomes
    }
}

/// Up to `poolSize` SMTP connections shared by concurrent senders. A connection carries up to
/// `messagesPerConnection` messages (RSET between them), is closed after `idleTimeout` unused, and is replaced
/// when it breaks; a failed connection attempt is a transient failure of the message that needed it.
public actor SMTPPool: MailTransport {
    private let configuration: SMTPConfiguration
    private let group: any EventLoopGroup
    private var idle: [SMTPConnection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false
    static let recentlyUsed = TimeAmount.seconds(1)

    public init(configuration: SMTPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    public func send(_ envelope: Envelope) async -> SMTPOutcome {
        await send([envelope])[0]
    }

    /// Messages in order on one connection at a time, chained on its event loop; when a connection stops (a
    /// refusal, a dropped line, its message limit), the rest continue on the next one.
    public func send(_ envelopes: [Envelope]) async -> [SMTPOutcome] {
        var outcomes: [SMTPOutcome] = []
        while outcomes.count < envelopes.count {
            let connection: SMTPConnection
            do {
                connection = try await checkout()
            } catch {
                let failure = SMTPOutcome.transientFailure(
                    "cannot connect to \(configuration.host):\(configuration.port): \(error)")
                return outcomes + Array(repeating: failure, count: envelopes.count - outcomes.count)
            }
            outcomes += await connection.deliver(envelopes[outcomes.count...])
            await checkin(connection)
        }
        return outcomes
    }

    private func checkout() async throws -> SMTPConnection {
        while true {
            guard !closed else { throw SMTPError.connectionClosed }
            let now = NIODeadline.now()
            while let connection = idle.popLast() {
                if now - connection.lastUsed > configuration.idleTimeout || !connection.isUsable {
                    open -= 1
                    Task { await connection.close() }
                    continue
                }
                // A connection used a moment ago goes on (its next transaction starts with a pipelined RSET); one
                // that waited is checked first, so a server that hung up is noticed before a message is at stake.
                if now - connection.lastUsed < Self.recentlyUsed { return connection }
                if await connection.reset() { return connection }
                open -= 1
                await connection.close()
            }
            if open < configuration.poolSize {
                open += 1
                do {
                    return try await SMTPConnection.open(configuration, on: group)
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func checkin(_ connection: SMTPConnection) async {
        if connection.isUsable && connection.transactions < configuration.messagesPerConnection && !closed {
            idle.append(connection)
        } else {
            open -= 1
            await connection.close()
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Closes every idle connection (QUIT) and refuses new work.
    public func shutdown() async {
        closed = true
        for connection in idle { await connection.close() }
        idle = []
        open = 0
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

import Foundation
import NIOCore
import NIOPosix
import Vapor

/// Uploaded files checked by a ClamAV daemon (`clamd`) before anything is stored, with its `INSTREAM` command: the
/// bytes go to the daemon in chunks, each after its length as 4 bytes in network order, ended by an empty chunk;
/// the daemon answers `stream: OK`, `stream: <signature> FOUND` or `… ERROR`, ended by a NUL byte.
///
/// Configured by `VIVIER_CLAMAV` (`unix:/run/clamav/clamd.ctl` or `tcp://host:3310`). When it is set, a file the
/// daemon cannot check is refused like an infected one: an unscanned upload is never stored.
struct Antivirus: Sendable {
    enum Endpoint: Sendable, Equatable {
        case unix(path: String)
        case tcp(host: String, port: Int)
    }

    enum Verdict: Sendable, Equatable {
        case clean
        case infected(signature: String)
    }

    struct Unavailable: Error, CustomStringConvertible {
        var reason: String
        var description: String { "antivirus unavailable: \(reason)" }
    }

    let endpoint: Endpoint
    var timeout: TimeAmount = .seconds(30)
    static let chunk = 64 * 1024

    /// `unix:/path` or `tcp://host:port`; nil for anything else.
    static func endpoint(_ text: String) -> Endpoint? {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            return path.hasPrefix("/") ? .unix(path: path) : nil
        }
        guard let url = URLComponents(string: text), url.scheme == "tcp", let host = url.host, !host.isEmpty,
            let port = url.port, (1...65_535).contains(port), url.path.isEmpty
        else { return nil }
        return .tcp(host: host, port: port)
    }

    func scan(_ bytes: [UInt8]) async throws -> Verdict {
        let reply = try await exchange(bytes)
        guard reply.hasPrefix("stream: ") else { throw Unavailable(reason: "unexpected reply “\(reply)”") }
        let result = String(reply.dropFirst("stream: ".count))
        if result == "OK" { return .clean }
        if result.hasSuffix(" FOUND") { return .infected(signature: String(result.dropLast(" FOUND".count))) }
        throw Unavailable(reason: result)
    }

    /// Whether the daemon answers (`PING` → `PONG`).
    func ping() async -> Bool {
        (try? await send(Array("zPING\0".utf8))) == "PONG"
    }

    private func exchange(_ bytes: [UInt8]) async throws -> String {
        var request = Array("zINSTREAM\0".utf8)
        request.reserveCapacity(bytes.count + bytes.count / Self.chunk * 4 + 20)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + Self.chunk, bytes.count)
            withUnsafeBytes(of: UInt32(end - offset).bigEndian) { request.append(contentsOf: $0) }
            request.append(contentsOf: bytes[offset..<end])
            offset = end
        }
        request.append(contentsOf: [0, 0, 0, 0])
        return try await send(request)
    }

    /// Writes `request` on a new connection and reads the reply up to its NUL byte.
    private func send(_ request: [UInt8]) async throws -> String {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: String.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplyReader(promise: promise))
                }
            }
        let channel: any Channel
        do {
            switch endpoint {
            case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
            }
        } catch {
            promise.fail(error)
            throw Unavailable(reason: "cannot connect: \(error)")
        }
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(Unavailable(reason: "no answer within \(timeout.nanoseconds / 1_000_000_000) s"))
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        channel.writeAndFlush(ByteBuffer(bytes: request), promise: nil)
        do {
            let reply = try await promise.futureResult.get()
            try? await channel.close()
            return reply
        } catch let unavailable as Unavailable {
            throw unavailable
        } catch {
            throw Unavailable(reason: "\(error)")
        }
    }

    /// Collects the reply up to its NUL byte; a connection closed before it fails the exchange.
    private final class ReplyReader: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<String>
        var received: [UInt8] = []

        init(promise: EventLoopPromise<String>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += Array(unwrapInboundIn(data).readableBytesView)
            if let end = received.firstIndex(of: 0) {
                promise.succeed(String(decoding: received[..<end], as: UTF8.self))
            } else if received.count > 4096 {
                promise.fail(Unavailable(reason: "reply too long"))
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Unavailable(reason: "connection closed before the reply"))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}

extension Request {
    /// The message key refusing an upload the antivirus found infected or could not check; nil when it may be
    /// stored (or no antivirus is configured). What was found is logged, never the file's name or owner.
    func antivirusProblem(_ bytes: [UInt8]) async -> String? {
        guard let antivirus = application.config.antivirus else { return nil }
        do {
            switch try await antivirus.scan(bytes) {
            case .clean: return nil
            case .infected(let signature):
                logger.warning("upload refused by the antivirus", metadata: ["signature": "\(signature)"])
                return "upload.infected"
            }
        } catch {
            logger.error("upload refused: \(error)")
            return "upload.unchecked"
        }
    }
}

import Foundation
import NIOCore
import NIOSSL

/// Where and how to reach the mail server, usually from `VIVIER_SMTP_URL`
/// (`smtp://user:pass@host:587?starttls=required`, `smtps://host:465`).
public struct SMTPConfiguration: Sendable {
    public enum Security: String, Sendable {
        /// TLS from the first byte (port 465).
        case implicitTLS = "implicit"
        /// STARTTLS or give up: the default for a submission server.
        case startTLSRequired = "required"
        /// STARTTLS when offered, plain text otherwise (direct delivery to an MX only).
        case startTLSOpportunistic = "opportunistic"
        /// Never TLS: loopback test servers only.
        case none = "off"
    }

    public struct Timeouts: Sendable {
        public var connect: TimeAmount = .seconds(10)
        public var greeting: TimeAmount = .seconds(60)
        public var command: TimeAmount = .seconds(60)
        /// Waiting for the reply to the final dot: servers may scan the message first (RFC 5321 §4.5.3.2 allows 10 min).
        public var dataPhase: TimeAmount = .seconds(300)

        public init() {}
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// The name announced in EHLO.
    public var heloName: String
    public var timeouts = Timeouts()
    /// Connections kept open at most, messages per connection before a fresh one, seconds an idle one is kept.
    public var poolSize = 4
    public var messagesPerConnection = 100
    /// Messages a connection's sender marks in flight with one durable commit before sending them (the outbox's
    /// window): more is faster, and is also how many a crash can leave in doubt per connection (twice this).
    public var inFlightWindow = 32
    public var idleTimeout: TimeAmount = .seconds(15)
    /// Extra trusted certificates (a test server's own CA); the system roots are always trusted.
    public var additionalTrustRoots: [NIOSSLCertificate] = []

    public init(
        host: String, port: Int, security: Security, username: String? = nil, password: String? = nil, heloName: String
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.heloName = heloName
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses `smtp[s]://[user[:password]@]host[:port][?starttls=required|opportunistic|off&pool=4&per_connection=100
    /// &in_flight=32]`.
    public static func parse(_ url: String, heloName: String) throws -> SMTPConfiguration {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host,
            !host.isEmpty
        else {
            throw Invalid(description: "'\(url)' is not an smtp:// or smtps:// URL with a host")
        }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        var security: Security
        switch scheme {
        case "smtps": security = .implicitTLS
        case "smtp":
            let mode = query["starttls"] ?? "required"
            guard let parsed = Security(rawValue: mode), parsed != .implicitTLS else {
                throw Invalid(description: "starttls=\(mode) is not accepted; use required, opportunistic or off")
            }
            security = parsed
        default:
            throw Invalid(description: "scheme '\(scheme)' is not accepted; use smtp:// or smtps://")
        }
        var config = SMTPConfiguration(
            host: host, port: components.port ?? (security == .implicitTLS ? 465 : 587), security: security,
            username: components.user?.removingPercentEncoding, password: components.password?.removingPercentEncoding,
            heloName: heloName)
        if let pool = query["pool"] {
            guard let size = Int(pool), (1...64).contains(size) else {
                throw Invalid(description: "pool=\(pool) must be between 1 and 64")
            }
            config.poolSize = size
        }
        if let per = query["per_connection"] {
            guard let count = Int(per), (1...10_000).contains(count) else {
                throw Invalid(description: "per_connection=\(per) must be between 1 and 10000")
            }
            config.messagesPerConnection = count
        }
        if let window = query["in_flight"] {
            guard let count = Int(window), (1...256).contains(count) else {
                throw Invalid(description: "in_flight=\(window) must be between 1 and 256")
            }
            config.inFlightWindow = count
        }
        if config.username != nil && security == .none && !["127.0.0.1", "::1", "localhost"].contains(host) {
            throw Invalid(
                description: "refusing to send a password without TLS to \(host); use starttls=required or smtps://")
        }
        return config
    }
}

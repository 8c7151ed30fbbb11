import Foundation
import Vapor
import VivierCore

/// Everything Vivier reads from its environment, decoded and checked once at boot. A bad value stops the boot with
/// a message that names the variable and says what is accepted.
public struct AppConfig: Sendable {
    public enum Database: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    public var database: Database
    public var dataDirectory: URL
    public var publicURL: String
    public var secret: [UInt8]
    public var host: String
    public var port: Int
    public var defaultLanguage: Language
    public var production: Bool
    public var mail: MailSettings
    public var sms: SMSSettings?
    /// Bearer token that opens `/metrics` to a scraper that is not on this machine.
    public var metricsToken: String?
    /// Where webhooks may be delivered: https to public addresses unless widened.
    var webhookPolicy = OutboundURL.Policy()
    /// The ClamAV daemon every upload is shown to before it is stored; none when unset.
    var antivirus: Antivirus?

    public struct Invalid: Error, CustomStringConvertible {
        public var variable: String
        public var problem: String
        public var description: String { "\(variable): \(problem)" }
    }

    /// Reads the configuration from `environment` (the process environment merged with `.env`). On the embedded
    /// default a missing secret is generated once and kept in the data directory so sessions survive restarts.
    public static func load(
        from environment: [String: String], production: Bool, fileManager: FileManager = .default
    ) throws -> AppConfig {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmed, !raw.isEmpty else { return nil }
            return raw
        }

        let dataPath = value("VIVIER_DATA_DIR") ?? "./var"
        let dataDirectory = URL(fileURLWithPath: dataPath, isDirectory: true).standardizedFileURL
        do {
            try fileManager.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw Invalid(
                variable: "VIVIER_DATA_DIR", problem: "cannot create directory \(dataDirectory.path): \(error)")
        }

        let database: Database
        switch value("VIVIER_DATABASE_URL") {
        case nil:
            database = .sqlite(path: dataDirectory.appendingPathComponent("vivier.sqlite").path)
        case let url? where url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"):
            guard URLComponents(string: url)?.host?.isEmpty == false else {
                throw Invalid(
                    variable: "VIVIER_DATABASE_URL",
                    problem: "'\(redacted(url))' has no host; expected postgres://user:password@host:5432/database")
            }
            database = .postgres(url: url)
        case let url? where url.hasPrefix("sqlite://") || url.hasSuffix(".sqlite") || url.hasSuffix(".db"):
            let path = url.hasPrefix("sqlite://") ? String(url.dropFirst("sqlite://".count)) : url
            guard !path.isEmpty else {
                throw Invalid(
                    variable: "VIVIER_DATABASE_URL",
                    problem: "sqlite:// needs a file path, e.g. sqlite://./var/vivier.sqlite")
            }
            database = .sqlite(path: path)
        case let other?:
            throw Invalid(
                variable: "VIVIER_DATABASE_URL",
                problem:
                    "'\(redacted(other))' is not accepted; use postgres://user:password@host:5432/database or sqlite://path/to/file.sqlite"
            )
        }

        let host = value("VIVIER_HOST") ?? "127.0.0.1"
        let port: Int
        if let raw = value("VIVIER_PORT") {
            guard let parsed = Int(raw), (1...65535).contains(parsed) else {
                throw Invalid(variable: "VIVIER_PORT", problem: "'\(raw)' is not a port number between 1 and 65535")
            }
            port = parsed
        } else {
            port = 8080
        }

        let publicURL = value("VIVIER_PUBLIC_URL") ?? "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        guard let components = URLComponents(string: publicURL), ["http", "https"].contains(components.scheme ?? ""),
            components.host?.isEmpty == false, components.query == nil
        else {
            throw Invalid(
                variable: "VIVIER_PUBLIC_URL",
                problem: "'\(publicURL)' is not an absolute http(s) URL such as https://jobs.example.com")
        }
        if production && components.scheme != "https" && !["127.0.0.1", "localhost"].contains(components.host ?? "") {
            throw Invalid(variable: "VIVIER_PUBLIC_URL", problem: "must use https in production (got '\(publicURL)')")
        }

        let language: Language
        if let raw = value("VIVIER_DEFAULT_LOCALE") {
            guard let parsed = Language(rawValue: raw.lowercased()) else {
                throw Invalid(variable: "VIVIER_DEFAULT_LOCALE", problem: "'\(raw)' is not supported; use fr or en")
            }
            language = parsed
        } else {
            language = .fr
        }

        let secret: [UInt8]
        if let raw = value("VIVIER_SECRET") {
            guard raw.utf8.count >= 32 else {
                throw Invalid(
                    variable: "VIVIER_SECRET",
                    problem: "must be at least 32 characters of random text (e.g. `openssl rand -hex 32`)")
            }
            guard Set(raw).count >= 8,
                !["changeme", "secret", "vivier"].contains(where: { raw.lowercased().hasPrefix($0) })
            else {
                throw Invalid(
                    variable: "VIVIER_SECRET",
                    problem: "looks like a placeholder; generate one with `openssl rand -hex 32`")
            }
            secret = Array(raw.utf8)
        } else if production {
            throw Invalid(
                variable: "VIVIER_SECRET",
                problem: "is required in production; generate one with `openssl rand -hex 32`")
        } else {
            secret = try storedSecret(in: dataDirectory, fileManager: fileManager)
        }

        let mail = try MailSettings.load(
            value, publicHost: components.host ?? "localhost", dataDirectory: dataDirectory, production: production)

        func flag(_ name: String) throws -> Bool {
            switch value(name)?.lowercased() {
            case nil, "0", "false", "no": return false
            case "1", "true", "yes": return true
            case let other?: throw Invalid(variable: name, problem: "'\(other)' is not 1/true or 0/false")
            }
        }
        var config = AppConfig(
            database: database, dataDirectory: dataDirectory,
            publicURL: publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL,
            secret: secret, host: host, port: port, defaultLanguage: language, production: production, mail: mail,
            sms: try SMSSettings.load(value), metricsToken: value("VIVIER_METRICS_TOKEN"))
        config.webhookPolicy = OutboundURL.Policy(
            allowHTTP: try flag("VIVIER_WEBHOOKS_ALLOW_HTTP"), allowPrivate: try flag("VIVIER_WEBHOOKS_ALLOW_PRIVATE"))
        if let raw = value("VIVIER_CLAMAV") {
            guard let endpoint = Antivirus.endpoint(raw) else {
                throw Invalid(
                    variable: "VIVIER_CLAMAV",
                    problem: "'\(raw)' is not unix:/path/to/clamd.sock or tcp://host:port")
            }
            config.antivirus = Antivirus(endpoint: endpoint)
        }
        return config
    }

    /// The secret kept in `<data dir>/secret`, created with 32 random bytes on first use (readable by the owner only).
    static func storedSecret(in directory: URL, fileManager: FileManager) throws -> [UInt8] {
        let file = directory.appendingPathComponent("secret")
        if let data = fileManager.contents(atPath: file.path), data.count >= 32 {
            return Array(data)
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = Array(
            (0..<64).map { _ in "0123456789abcdef".randomElement(using: &generator)! }.map { $0.asciiValue! })
        guard fileManager.createFile(atPath: file.path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        else {
            throw Invalid(
                variable: "VIVIER_SECRET",
                problem: "not set and \(file.path) cannot be written; set VIVIER_SECRET or fix VIVIER_DATA_DIR")
        }
        return bytes
    }

    private static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }

    /// Where CV files live.
    public var blobDirectory: URL { dataDirectory.appendingPathComponent("files", isDirectory: true) }
}

extension Application {
    private struct ConfigKey: StorageKey {
        typealias Value = AppConfig
    }

    /// The configuration read at boot.
    public var config: AppConfig {
        get {
            guard let config = storage[ConfigKey.self] else { fatalError("AppConfig read before configure()") }
            return config
        }
        set { storage[ConfigKey.self] = newValue }
    }
}

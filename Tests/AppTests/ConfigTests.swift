import Foundation
import Testing

@testable import App

@Suite("Configuration")
final class ConfigTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vivier-config-\(UUID().uuidString)")
        .path

    // Each test gets its own directory, removed when it ends.
    deinit { try? FileManager.default.removeItem(atPath: directory) }

    @Test func defaults_embeddedSQLiteWithAGeneratedSecretKeptAcrossStarts() throws {
        let first = try AppConfig.load(from: ["VIVIER_DATA_DIR": directory], production: false)
        #expect(first.database == .sqlite(path: directory + "/vivier.sqlite"))
        #expect(first.host == "127.0.0.1" && first.port == 8080 && first.defaultLanguage == .fr)
        #expect(first.publicURL == "http://127.0.0.1:8080")
        let second = try AppConfig.load(from: ["VIVIER_DATA_DIR": directory], production: false)
        #expect(first.secret == second.secret && first.secret.count >= 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/secret")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test(arguments: [
        (["VIVIER_PORT": "80000"], "VIVIER_PORT"),
        (["VIVIER_PORT": "http"], "VIVIER_PORT"),
        (["VIVIER_DATABASE_URL": "mysql://x"], "VIVIER_DATABASE_URL"),
        (["VIVIER_DATABASE_URL": "postgres:///nohost"], "VIVIER_DATABASE_URL"),
        (["VIVIER_DEFAULT_LOCALE": "de"], "VIVIER_DEFAULT_LOCALE"),
        (["VIVIER_PUBLIC_URL": "ftp://jobs.example.com"], "VIVIER_PUBLIC_URL"),
        (["VIVIER_SECRET": "short"], "VIVIER_SECRET"),
        (["VIVIER_SECRET": "changeme-changeme-changeme-changeme"], "VIVIER_SECRET"),
    ])
    func invalidValue_stopsTheBootNamingTheVariable(overrides: [String: String], variable: String) throws {
        var environment = ["VIVIER_DATA_DIR": directory]
        environment.merge(overrides) { $1 }
        do {
            _ = try AppConfig.load(from: environment, production: false)
            Issue.record("\(overrides) was accepted")
        } catch let error as AppConfig.Invalid {
            #expect(error.variable == variable)
            #expect(!error.problem.isEmpty)
        }
    }

    @Test func production_requiresASecretAndHTTPS() throws {
        #expect(throws: AppConfig.Invalid.self) {
            try AppConfig.load(from: ["VIVIER_DATA_DIR": directory], production: true)
        }
        let secret = "5f2b8c0e9d4a7b1c3e6f8a0b2c4d6e8f1a3b5c7d9e0f2a4b"
        #expect(throws: AppConfig.Invalid.self) {
            try AppConfig.load(
                from: [
                    "VIVIER_DATA_DIR": directory, "VIVIER_SECRET": secret,
                    "VIVIER_PUBLIC_URL": "http://jobs.example.com",
                ], production: true)
        }
        let config = try AppConfig.load(
            from: [
                "VIVIER_DATA_DIR": directory, "VIVIER_SECRET": secret, "VIVIER_PUBLIC_URL": "https://jobs.example.com/",
            ], production: true)
        #expect(config.publicURL == "https://jobs.example.com" && config.production)
    }

    @Test func postgresURL_isAccepted() throws {
        let config = try AppConfig.load(
            from: ["VIVIER_DATA_DIR": directory, "VIVIER_DATABASE_URL": "postgres://vivier:pw@db:5432/vivier"],
            production: false)
        #expect(config.database == .postgres(url: "postgres://vivier:pw@db:5432/vivier"))
    }
}

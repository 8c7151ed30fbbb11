import Fluent
import Foundation
import Testing
import Vapor
import VivierCore

@testable import App

/// The SMS adapters against a real HTTP server standing in for the provider (`Tests/Peers/http_recorder.py`),
/// the reminder queue driven by the clock, and STOP replies.
@Suite("Text messages", .serialized)
struct SMSTests {
    final class Recorder: @unchecked Sendable {
        let process = Process()
        let input = Pipe()
        let log: URL
        let port: Int

        init() throws {
            log = FileManager.default.temporaryDirectory.appendingPathComponent("sms-\(UUID().uuidString).jsonl")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Peers/http_recorder.py")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, log.path]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            process.standardInput = input
            try process.run()
            var line = Data()
            while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8)
            {
                line += byte
            }
            port = Int(String(decoding: line, as: UTF8.self)) ?? 0
        }

        struct Request: Decodable {
            var path: String
            var headers: [String: String]
            var body: String
        }

        var requests: [Request] {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONDecoder().decode(Request.self, from: Data($0.utf8))
            }
        }

        func stop() {
            process.terminate()
            try? FileManager.default.removeItem(at: log)
        }
    }

    static func twilio(_ port: Int) -> [String: String] {
        [
            "VIVIER_SMS_PROVIDER": "twilio", "VIVIER_SMS_BASE_URL": "http://127.0.0.1:\(port)",
            "VIVIER_SMS_ACCOUNT": "AC123", "VIVIER_SMS_TOKEN": "secret-token", "VIVIER_SMS_FROM": "+33700000000",
        ]
    }

    @Test func reminderByText_queuedWithTheInterview_sentByTheClock_stoppedByARRET() async throws {
        let recorder = try Recorder()
        defer { recorder.stop() }
        try await withApp(environment: Self.twilio(recorder.port)) { app, clock in
            // The candidate gives a number and ticks the reminders; a recruiter schedules an interview in 3 days.
            try await Fixtures.user(app, "ana@example.com", role: .recruiter)
            let job = try await Fixtures.job(app)
            let refused = try await Fixtures.apply(
                Browser(app), slug: job.slug, phone: "", extra: [("consent_sms_reminders", "on")])
            #expect(refused.status == .unprocessableEntity && refused.body.contains("indiquez un numéro de mobile"))
            _ = try await Fixtures.apply(
                Browser(app), slug: job.slug, phone: "06 12 34 56 78", extra: [("consent_sms_reminders", "on")])
            let application = try #require(try await JobApplication.query(on: app.db).first())
            let browser = Browser(app)
            try await browser.login("ana@example.com")
            _ = try await browser.open(SiteURL.candidate(application.$candidate.id))
            _ = try await browser.post(
                SiteURL.application(try application.requireID()) + "/interviews",
                [
                    ("date", "2026-09-24"), ("time", "10:00"), ("time_zone", "Europe/Paris"), ("duration", "60"),
                    ("location", "Lyon"),
                ])
            let queued = try #require(try await SMSMessage.query(on: app.db).first())
            #expect(queued.phone == "+33612345678" && queued.status == .pending)
            #expect(ISO8601DateFormatter().string(from: queued.sendAt) == "2026-09-23T08:00:00Z", "24 h before")
            #expect(queued.text.contains("demain à 10:00, Lyon") && SMS.segments(queued.text).count == 1)

            // Not before its time; then sent through the provider's API.
            #expect(try await Scheduler(app: app).runOnce().texts == 0)
            clock.advance(by: 2 * 86_400)
            #expect(try await Scheduler(app: app).runOnce().texts == 1)
            let request = try #require(recorder.requests.first)
            #expect(request.path == "/2010-04-01/Accounts/AC123/Messages.json")
            #expect(
                request.headers["authorization"] == "Basic " + Data("AC123:secret-token".utf8).base64EncodedString())
            #expect(request.body.hasPrefix("To=%2B33612345678&From=%2B33700000000&Body="))
            let sent = try #require(try await SMSMessage.find(queued.id, on: app.db))
            #expect(sent.status == .sent && sent.providerID == "SM0001")

            // A recruiter's one-off text, then the candidate answers ARRET: consent withdrawn, nothing more sent.
            try await browser.login("ana@example.com")  // two days later, the session has timed out
            _ = try await browser.open(SiteURL.candidate(application.$candidate.id))
            _ = try await browser.post(
                SiteURL.candidate(application.$candidate.id) + "/sms", [("text", "Nous vous attendons à l'accueil.")])
            let key = TextMessages.webhookKey(secret: app.config.secret)
            #expect(
                try await Browser(app).post("/sms/inbound/wrong-key-wrong-key-wrong-key-00", [("From", "+33612345678")])
                    .status == .notFound)
            let stop = try await Browser(app).request(
                .POST, "/sms/inbound/\(key)", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "From=%2B33612345678&Body=Arr%C3%AAt"))
            #expect(stop.status == .ok && stop.body.contains("<Response/>"))
            let state = try await ConsentLedger.state(of: application.$candidate.id, on: app.db)
            #expect(state[.smsReminders] == false)
            #expect(try await ConsentEvent.query(on: app.db).filter(\.$channel == .sms).count() == 1)
            #expect(try await SMSMessage.query(on: app.db).filter(\.$kind == "recruiter").first()?.status == .cancelled)
            #expect(try await Scheduler(app: app).runOnce().texts == 0)
            #expect(recorder.requests.count == 1)
        }
    }

    @Test func brevoAdapter_andTheReplyClasses() async throws {
        let recorder = try Recorder()
        defer { recorder.stop() }
        try await withApp { app, _ in
            func brevo(_ base: String) -> BrevoGateway {
                BrevoGateway(
                    settings: SMSSettings(
                        provider: .brevo, baseURL: base, account: "", token: "xkeysib-1", from: "Atelier"),
                    client: app.http.client.shared)
            }
            let base = "http://127.0.0.1:\(recorder.port)"
            #expect(await brevo(base).send(to: "+33612345678", text: "Fenêtre") == .sent(id: "1511882900176220"))
            let request = try #require(recorder.requests.first)
            #expect(request.path == "/v3/transactionalSMS/send" && request.headers["api-key"] == "xkeysib-1")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any])
            #expect(json["recipient"] as? String == "33612345678" && json["sender"] as? String == "Atelier")
            #expect(json["type"] as? String == "transactional" && json["unicodeEnabled"] as? Bool == true)

            guard case .transientFailure = await brevo(base + "/s503").send(to: "+33612345678", text: "x") else {
                Issue.record("503 must be retried"); return
            }
            guard case .transientFailure = await brevo(base + "/s429").send(to: "+33612345678", text: "x") else {
                Issue.record("429 must be retried"); return
            }
            guard case .permanentFailure(let words) = await brevo(base + "/s400").send(to: "+33612345678", text: "x")
            else { Issue.record("400 is final"); return }
            #expect(words.contains("refused by the test peer"))
            guard case .transientFailure = await brevo("http://127.0.0.1:1").send(to: "+33612345678", text: "x") else {
                Issue.record("an unreachable provider is a temporary failure"); return
            }
        }
    }

    @Test func configuration_isCheckedAtBoot() throws {
        func load(_ values: [String: String]) throws -> AppConfig {
            try AppConfig.load(
                from: [
                    "VIVIER_DATA_DIR": FileManager.default.temporaryDirectory.path,
                    "VIVIER_SECRET": "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
                ]
                .merging(values) { $1 }, production: false)
        }
        #expect(try load([:]).sms == nil)
        #expect(throws: AppConfig.Invalid.self) { try load(["VIVIER_SMS_TOKEN": "x"]) }
        #expect(throws: AppConfig.Invalid.self) { try load(["VIVIER_SMS_PROVIDER": "ovh"]) }
        #expect(throws: AppConfig.Invalid.self) { try load(Self.twilio(1).merging(["VIVIER_SMS_ACCOUNT": ""]) { $1 }) }
        #expect(throws: AppConfig.Invalid.self) {
            try load(Self.twilio(1).merging(["VIVIER_SMS_FROM": "Atelier Boréal SAS"]) { $1 })
        }
        let brevo = try load([
            "VIVIER_SMS_PROVIDER": "brevo", "VIVIER_SMS_TOKEN": "k", "VIVIER_SMS_FROM": "06 12 34 56 78",
        ])
        #expect(brevo.sms?.baseURL == "https://api.brevo.com" && brevo.sms?.from == "+33612345678")
    }
}

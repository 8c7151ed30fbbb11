import Crypto
import Fluent
import Foundation
import Testing
import Vapor

@testable import App

/// Outgoing webhooks: refused targets are never connected to, deliveries are signed, retried with backoff and
/// logged, and a redirect is checked like the first address.
@Suite("Webhooks", .serialized)
struct WebhookTests {
    /// A TCP port on loopback that counts the connections made to it without accepting any data.
    final class Listener {
        let socket: Int32
        let port: Int

        init() throws {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            listen(fd, 64)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            socket = fd
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        /// Connections waiting to be accepted: every attempt that reached this port.
        func attempts() -> Int {
            var count = 0
            while true {
                let client = accept(socket, nil, nil)
                if client < 0 { return count }
                close(client)
                count += 1
            }
        }

        deinit { close(socket) }
    }

    static func hostile(_ port: Int) -> [String] {
        [
            "https://127.0.0.1:\(port)/", "http://127.0.0.1:\(port)/", "https://localhost:\(port)/",
            "https://LOCALHOST:\(port)/", "https://localhost.:\(port)/", "https://hooks.localhost:\(port)/",
            "https://[::1]:\(port)/", "https://[::ffff:127.0.0.1]:\(port)/", "https://[::ffff:7f00:1]:\(port)/",
            "https://[0:0:0:0:0:ffff:127.0.0.1]:\(port)/", "https://2130706433:\(port)/", "https://0x7f000001:\(port)/",
            "https://0177.0.0.1:\(port)/", "https://0x7f.0.0.1:\(port)/", "https://127.1:\(port)/",
            "https://127.0.1:\(port)/", "https://0.0.0.0:\(port)/", "https://0:\(port)/", "https://[::]:\(port)/",
            "https://[64:ff9b::7f00:1]:\(port)/", "https://[2002:7f00:1::]:\(port)/", "https://[::127.0.0.1]:\(port)/",
            "https://10.0.0.1/", "https://172.16.5.4/", "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00::1]/", "https://[fe80::1]/", "https://100.64.0.1/", "https://198.18.0.1/",
            "https://224.0.0.1/", "https://255.255.255.255/", "https://user:secret@example.com/",
            "ftp://127.0.0.1:\(port)/", "file:///etc/passwd", "gopher://127.0.0.1:\(port)/_", "not a url",
        ]
    }

    @Test func hostileTargets_areRefusedWithoutAConnection() async throws {
        let listener = try Listener()
        try await withApp { app, _ in
            let sender = WebhookSender(app: app)
            var accepted: [String] = []
            for url in Self.hostile(listener.port) {
                if case .refused = await sender.post(url, body: "{}", headers: []) { continue }
                accepted.append(url)
            }
            #expect(Self.hostile(listener.port).count >= 30)
            #expect(accepted.isEmpty, "not refused: \(accepted)")
            #expect(listener.attempts() == 0)
            // A name is judged by what it resolves to, every address of it.
            #expect(throws: OutboundURL.Refusal.address("10.1.2.3")) {
                try OutboundURL.check("https://hr.example.com/", policy: .init()) { _ in ["93.184.215.14", "10.1.2.3"] }
            }
            let allowed = try OutboundURL.check("https://hr.example.com/hook", policy: .init()) { _ in ["93.184.215.14"]
            }
            #expect(allowed.address == "93.184.215.14" && allowed.port == 443)
            // The form refuses them too, with the reason.
            try await Fixtures.user(app, "admin@example.com", role: .admin)
            let browser = Browser(app)
            try await browser.login("admin@example.com")
            _ = try await browser.get("/app/webhooks")
            let page = try await browser.post(
                "/app/webhooks", [("url", "https://169.254.169.254/latest"), ("events[]", "application.created")])
            #expect(page.status == .unprocessableEntity && page.body.contains("169.254.169.254 is not a public"))
            #expect(try await Webhook.query(on: app.db).count() == 0)
        }
    }

    static let local = ["VIVIER_WEBHOOKS_ALLOW_HTTP": "1", "VIVIER_WEBHOOKS_ALLOW_PRIVATE": "1"]

    @Test func deliveries_areSignedRetriedWithBackoffAndLogged() async throws {
        let recorder = try SMSTests.Recorder()
        defer { recorder.stop() }
        try await withApp(environment: Self.local) { app, clock in
            try await Fixtures.user(app, "admin@example.com", role: .admin)
            let browser = Browser(app)
            try await browser.login("admin@example.com")
            _ = try await browser.get("/app/webhooks")
            let created = try await browser.post(
                "/app/webhooks",
                [
                    ("url", "http://127.0.0.1:\(recorder.port)/s500/hook"), ("events[]", "application.created"),
                    ("events[]", "application.rejected"),
                ])
            #expect(created.status == .ok)
            let secret = try #require(created.body.firstMatch(of: /id="secret" readonly value="([A-Za-z0-9_-]+)"/)?.1)
            let hook = try #require(try await Webhook.query(on: app.db).first())

            // An application queues one delivery, in its own transaction.
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug, email: "hook@example.com")
            let delivery = try #require(try await WebhookDelivery.query(on: app.db).first())
            #expect(delivery.event == "application.created" && delivery.status == .pending)

            // The receiver fails: the next attempt waits a minute.
            let sender = WebhookSender(app: app)
            #expect(try await sender.deliverDue() == 1)
            var stored = try #require(try await WebhookDelivery.find(delivery.id, on: app.db))
            #expect(stored.status == .pending && stored.attempts == 1 && stored.lastStatus == 500)
            #expect(stored.nextAttemptAt == clock.now() + 60)
            #expect(try await sender.deliverDue() == 0)

            // It recovers; a minute later the delivery arrives, signed.
            hook.url = "http://127.0.0.1:\(recorder.port)/hook"
            try await hook.save(on: app.db)
            clock.advance(by: 61)
            #expect(try await sender.deliverDue() == 1)
            stored = try #require(try await WebhookDelivery.find(delivery.id, on: app.db))
            #expect(stored.status == .delivered && stored.attempts == 2 && stored.lastStatus == 201)
            let received = try #require(recorder.requests.last)
            #expect(received.path == "/hook" && received.headers["vivier-event"] == "application.created")
            let signature = try #require(received.headers["vivier-signature"])
            let timestamp = try #require(signature.firstMatch(of: /t=(\d+),v1=([0-9a-f]{64})/))
            let expected = HMAC<SHA256>.authenticationCode(
                for: Array("\(timestamp.1).\(received.body)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
            #expect(String(timestamp.2) == Array(expected).hexString)
            let payload = try #require(
                try JSONSerialization.jsonObject(with: Data(received.body.utf8)) as? [String: Any])
            #expect(payload["type"] as? String == "application.created" && payload["id"] as? String == delivery.id?.api)
            let data = try #require(payload["data"] as? [String: Any])
            #expect(data["application_id"] as? String != nil && data["job_id"] as? String == job.id?.api)
            #expect(!received.body.contains("hook@example.com"), "payloads carry ids, not personal data")

            // A receiver that never recovers: after the last backoff the delivery is failed, and can be sent again.
            hook.url = "http://127.0.0.1:\(recorder.port)/s503/hook"
            try await hook.save(on: app.db)
            let test = WebhookDelivery(webhookID: try hook.requireID(), event: "ping", payload: "{}", now: clock.now())
            try await test.create(on: app.db)
            for wait in [0] + WebhookSender.backoff {
                clock.advance(by: wait + 1)
                #expect(try await sender.deliverDue() == 1)
            }
            let failed = try #require(try await WebhookDelivery.find(test.id, on: app.db))
            #expect(failed.status == .failed && failed.attempts == WebhookSender.backoff.count + 1)
            // A day and more went by: the admin signs in again.
            try await browser.login("admin@example.com")
            let log = try await browser.get("/app/webhooks/\(try hook.requireID().api)")
            #expect(log.body.contains("HTTP 503") && log.body.contains("/deliveries/\(failed.id!.api)/retry"))
            _ = try await browser.post(
                "/app/webhooks/\(try hook.requireID().api)/deliveries/\(failed.id!.api)/retry", [])
            #expect(try await WebhookDelivery.find(test.id, on: app.db)?.status == .pending)
        }
    }

    @Test func aRedirectIsCheckedLikeTheFirstAddress() async throws {
        let recorder = try SMSTests.Recorder()
        defer { recorder.stop() }
        try await withApp(environment: Self.local) { app, _ in
            let outcome = await WebhookSender(app: app).post(
                "http://127.0.0.1:\(recorder.port)/r302/hook", body: "{}", headers: [])
            guard case .refused(let reason) = outcome else {
                Issue.record("followed a redirect to the metadata address: \(outcome)")
                return
            }
            #expect(reason.contains("169.254.169.254"))
            #expect(recorder.requests.count == 1)
        }
    }

    @Test func eventsFollowTheChanges() async throws {
        try await withApp { app, _ in
            let hook = Webhook(
                url: "https://hr.example.com/hook", summary: "", events: Webhook.Event.allCases,
                sealedSecret: try SecondFactor.seal(Array("k".utf8), with: app.config.secret), createdBy: nil,
                now: app.clock.now())
            try await hook.create(on: app.db)
            try await Fixtures.user(app, "recruiter@example.com", role: .recruiter)
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(Browser(app), slug: job.slug, email: "flow@example.com")
            let application = try #require(try await JobApplication.query(on: app.db).first())
            let stages = try await Stage.query(on: app.db).filter(\.$job.$id == job.requireID()).sort(\.$position).all()
            let browser = Browser(app)
            try await browser.login("recruiter@example.com")
            _ = try await browser.get("/app/jobs/\(try job.requireID().api)/board")
            _ = try await browser.post(
                "/app/applications/\(try application.requireID().api)/move", [("stage_id", stages.last!.id!.api)])
            let events = try await WebhookDelivery.query(on: app.db).sort(\.$createdAt).all().map(\.event)
            #expect(events.contains("application.created") && events.contains("application.stage_changed"))
            #expect(events.contains("application.hired"))
        }
    }
}

import AsyncHTTPClient
import Crypto
import Fluent
import NIOCore
import NIOHTTP1
import SQLKit
import Vapor

/// Outgoing webhooks: an event is queued for every active webhook that wants it, in the transaction of the change
/// it reports (so it is sent if and only if the change happened); the worker posts it signed, and retries with
/// backoff. Payloads carry ids, not personal data: the receiver reads what it needs through the API.
enum Webhooks {
    struct Envelope<Data: Encodable>: Encodable {
        var id: String
        var type: String
        var createdAt: Date
        var data: Data
    }

    struct ApplicationData: Encodable {
        var applicationID: String
        var candidateID: String
        var jobID: String?
        var stageID: String?
        var outcome: String
        var closingReason: String?

        init(_ application: JobApplication) {
            applicationID = application.id?.api ?? ""
            candidateID = application.$candidate.id.api
            jobID = application.$job.id?.api
            stageID = application.$stage.id?.api
            outcome = application.outcome.rawValue
            closingReason = application.closingReason
        }
    }

    struct ConsentData: Encodable {
        var candidateID: String
        var purpose: String
        var action: String
        var channel: String
    }

    struct CandidateData: Encodable {
        var candidateID: String
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        // `candidateID` → `candidate_id`: the payloads' keys follow the API's.
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Queues `event` for every active webhook subscribed to it, on `db` (the caller's transaction).
    static func emit(_ event: Webhook.Event, _ data: some Encodable, on db: any Database, now: Date) async throws {
        let hooks = try await Webhook.query(on: db).filter(\.$active == true).all().filter {
            $0.events.contains(event)
        }
        guard !hooks.isEmpty else { return }
        var deliveries: [WebhookDelivery] = []
        for hook in hooks {
            let id = UUID()
            let payload = String(
                decoding: try encoder.encode(Envelope(id: id.api, type: event.rawValue, createdAt: now, data: data)),
                as: UTF8.self)
            let delivery = WebhookDelivery(
                webhookID: try hook.requireID(), event: event.rawValue, payload: payload, now: now)
            delivery.id = id
            deliveries.append(delivery)
        }
        try await deliveries.create(on: db)
    }

    static func emit(_ event: Webhook.Event, application: JobApplication, on db: any Database, now: Date) async throws {
        try await emit(event, ApplicationData(application), on: db, now: now)
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`: the receiver recomputes it with the secret and refuses
    /// a signature older than a few minutes (replays).
    static func signature(body: String, secret: [UInt8], at date: Date) -> String {
        let timestamp = Int(date.timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("\(timestamp).\(body)".utf8), using: SymmetricKey(data: secret))
        return "t=\(timestamp),v1=\(Array(mac).hexString)"
    }
}

/// Posts due webhook deliveries, one attempt each, and schedules the next attempt of those that failed.
struct WebhookSender {
    let app: Application
    /// Wait after the 1st, 2nd… failed attempt; after the last, the delivery is failed.
    static let backoff: [TimeInterval] = [60, 300, 1_800, 7_200, 21_600, 86_400]
    static let lease: TimeInterval = 60
    static let maxRedirects = 3

    func run() async {
        while !Task.isCancelled {
            do {
                if try await deliverDue() > 0 { continue }
            } catch {
                app.logger.error("webhook error", metadata: ["error": .string("\(error)")])
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// Claims and posts what is due; returns how many were attempted.
    @discardableResult
    func deliverDue(limit: Int = 20) async throws -> Int {
        let now = app.clock.now()
        let due = try await WebhookDelivery.query(on: app.db).filter(\.$status == .pending)
            .filter(\.$nextAttemptAt <= now).sort(\.$nextAttemptAt).limit(limit).all()
        var attempted = 0
        for delivery in due {
            // Ours only if nobody else took it meanwhile (a second instance).
            struct Row: Decodable { var id: String }
            let claimed = try await app.db.sql().raw(
                """
                UPDATE webhook_deliveries SET lease_until = \(bind: now + Self.lease)
                WHERE id = \(bind: try delivery.requireID()) AND status = 'pending'
                  AND (lease_until IS NULL OR lease_until < \(bind: now))
                RETURNING id
                """
            ).all()
            guard !claimed.isEmpty else { continue }
            try await attempt(delivery, now: now)
            attempted += 1
        }
        return attempted
    }

    enum Outcome {
        case delivered(Int)
        /// Worth another try later.
        case failed(status: Int?, reason: String)
        /// No retry can succeed (the address is refused).
        case refused(String)
    }

    func attempt(_ delivery: WebhookDelivery, now: Date) async throws {
        guard let hook = try await Webhook.find(delivery.$webhook.id, on: app.db) else { return }
        let outcome: Outcome
        if !hook.active {
            outcome = .refused("The webhook is disabled.")
        } else {
            guard let secret = SecondFactor.open(hook.sealedSecret, with: app.config.secret) else {
                throw Abort(.internalServerError, reason: "webhook secret unreadable: was VIVIER_SECRET changed?")
            }
            outcome = await post(
                hook.url, body: delivery.payload,
                headers: [
                    ("Content-Type", "application/json"), ("User-Agent", "Vivier-Webhooks/1"),
                    ("Vivier-Event", delivery.event), ("Vivier-Delivery", try delivery.requireID().api),
                    ("Vivier-Signature", Webhooks.signature(body: delivery.payload, secret: secret, at: now)),
                ])
        }
        delivery.attempts += 1
        delivery.leaseUntil = nil
        switch outcome {
        case .delivered(let status):
            delivery.status = .delivered
            delivery.lastStatus = status
            delivery.lastError = nil
            delivery.deliveredAt = now
        case .failed(let status, let reason):
            delivery.lastStatus = status
            delivery.lastError = reason
            if delivery.attempts > Self.backoff.count {
                delivery.status = .failed
            } else {
                delivery.nextAttemptAt = now + Self.backoff[delivery.attempts - 1]
            }
        case .refused(let reason):
            delivery.status = .failed
            delivery.lastStatus = nil
            delivery.lastError = reason
        }
        try await delivery.save(on: app.db)
    }

    /// One POST, following up to three redirects, each target checked before it is connected to, and connected to
    /// at the address that was checked.
    func post(_ target: String, body: String, headers: [(String, String)]) async -> Outcome {
        var target = target
        for _ in 0...Self.maxRedirects {
            let checked: OutboundURL
            do {
                checked = try OutboundURL.check(target, policy: app.config.webhookPolicy)
            } catch {
                return .refused("\(error)")
            }
            var configuration = HTTPClient.Configuration(
                redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
            configuration.dnsOverride = [checked.host: checked.address]
            let client = HTTPClient(eventLoopGroup: app.eventLoopGroup, configuration: configuration)
            var request = HTTPClientRequest(url: checked.url.absoluteString)
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(string: body))
            let answer: Result<HTTPClientResponse, any Error>
            do {
                answer = .success(try await client.execute(request, timeout: .seconds(15)))
            } catch {
                answer = .failure(error)
            }
            try? await client.shutdown()
            switch answer {
            case .failure(let error):
                return .failed(status: nil, reason: "\(error)")
            case .success(let response):
                let status = Int(response.status.code)
                if (300..<400).contains(status), let location = response.headers.first(name: "Location"),
                    let next = URL(string: location, relativeTo: checked.url)?.absoluteString
                {
                    target = next
                    continue
                }
                if (200..<300).contains(status) { return .delivered(status) }
                return .failed(status: status, reason: "The receiver answered \(status).")
            }
        }
        return .failed(status: nil, reason: "More than \(Self.maxRedirects) redirects.")
    }
}

import Fluent
import Vapor

/// Admins register the URLs other systems listen on, choose the events, see every delivery and its answer, send a
/// test, and retry a failed delivery.
struct WebhooksController {
    struct Row: Encodable {
        var url: String
        var link: String
        var events: String
        var active: Bool
        var lastDelivery: String
    }

    struct ListContent: Encodable {
        var rows: [Row]
        var events: [Choice]
        var url: String
        var summary: String
        var error: String?
    }

    struct DeliveryRow: Encodable {
        var id: String
        var event: String
        var when: String
        var status: String
        var attempts: Int
        var answer: String
        var retryAction: String?
    }

    struct ShowContent: Encodable {
        var url: String
        var summary: String
        var events: String
        var active: Bool
        var action: String
        var secret: String?
        var deliveries: [DeliveryRow]
    }

    @Sendable func list(req: Request) async throws -> Response {
        try await renderList(req, url: "", summary: "", events: [], error: nil)
    }

    private func renderList(_ req: Request, url: String, summary: String, events: [String], error: String?)
        async throws -> Response
    {
        let hooks = try await Webhook.query(on: req.db).sort(\.$createdAt, .descending).all()
        var rows: [Row] = []
        for hook in hooks {
            let last = try await WebhookDelivery.query(on: req.db).filter(\.$webhook.$id == hook.requireID())
                .sort(\.$createdAt, .descending).first()
            rows.append(
                Row(
                    url: hook.url, link: SiteURL.webhooks + "/\(try hook.requireID().api)",
                    events: hook.events.map(\.rawValue).joined(separator: ", "), active: hook.active,
                    lastDelivery: last.map {
                        "\(req.t("webhooks.status.\($0.status.rawValue)")) · \(Dates.dayTime($0.createdAt, req.language))"
                    } ?? "—"))
        }
        return try await req.page(
            "app/webhooks", title: req.t("webhooks.title"), status: error == nil ? .ok : .unprocessableEntity,
            ListContent(
                rows: rows,
                events: Webhook.Event.allCases.filter { $0 != .ping }.map {
                    Choice(
                        value: $0.rawValue, label: req.t("webhooks.event.\($0.rawValue)"),
                        selected: events.contains($0.rawValue))
                }, url: url, summary: summary, error: error))
    }

    struct Form: Content {
        var url: String?
        var description: String?
        var events: [String]?
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let url = (form.url ?? "").trimmed
        let summary = String((form.description ?? "").trimmed.prefix(200))
        let events = (form.events ?? []).compactMap(Webhook.Event.init(rawValue:)).filter { $0 != .ping }
        func refuse(_ message: String) async throws -> Response {
            try await renderList(req, url: url, summary: summary, events: events.map(\.rawValue), error: message)
        }
        guard url.count <= 500 else { return try await refuse(req.t("error.too_long")) }
        do {
            _ = try OutboundURL.check(url, policy: req.application.config.webhookPolicy)
        } catch {
            return try await refuse("\(req.t("webhooks.error_url")) \(error)")
        }
        guard !events.isEmpty else { return try await refuse(req.t("webhooks.error_events")) }
        let secret = Tokens.random()
        let hook = Webhook(
            url: url, summary: summary, events: events,
            sealedSecret: try SecondFactor.seal(Array(secret.utf8), with: req.application.config.secret),
            createdBy: try req.requireUser().id, now: req.now)
        try await hook.create(on: req.db)
        try await req.audit(.webhookChanged, target: "webhook:\(try hook.requireID().api)", detail: "created")
        return try await render(req, hook, secret: secret)
    }

    @Sendable func show(req: Request) async throws -> Response {
        try await render(req, try await find(req), secret: nil)
    }

    private func render(_ req: Request, _ hook: Webhook, secret: String?) async throws -> Response {
        let id = try hook.requireID()
        let deliveries = try await WebhookDelivery.query(on: req.db).filter(\.$webhook.$id == id)
            .sort(\.$createdAt, .descending).limit(100).all()
        let response = try await req.page(
            "app/webhook", title: "\(req.t("webhooks.title")) · \(hook.url)",
            ShowContent(
                url: hook.url, summary: hook.summary, events: hook.events.map(\.rawValue).joined(separator: ", "),
                active: hook.active, action: SiteURL.webhooks + "/\(id.api)", secret: secret,
                deliveries: try deliveries.map { delivery in
                    DeliveryRow(
                        id: try delivery.requireID().api, event: delivery.event,
                        when: Dates.dayTime(delivery.createdAt, req.language),
                        status: req.t("webhooks.status.\(delivery.status.rawValue)"),
                        attempts: delivery.attempts,
                        answer: [delivery.lastStatus.map { "HTTP \($0)" }, delivery.lastError].compactMap { $0 }
                            .joined(separator: " · "),
                        retryAction: delivery.status == .failed
                            ? SiteURL.webhooks + "/\(id.api)/deliveries/\(try delivery.requireID().api)/retry" : nil)
                }))
        if secret != nil { response.headers.replaceOrAdd(name: .cacheControl, value: "no-store") }
        return response
    }

    @Sendable func toggle(req: Request) async throws -> Response {
        let hook = try await find(req)
        hook.active.toggle()
        try await hook.save(on: req.db)
        try await req.audit(
            .webhookChanged, target: "webhook:\(try hook.requireID().api)", detail: hook.active ? "enabled" : "disabled"
        )
        return req.redirect(to: SiteURL.webhooks + "/\(try hook.requireID().api)", flash: "flash.webhook_saved")
    }

    /// Queues a `ping` to this webhook only, to check the receiver and its signature check.
    @Sendable func test(req: Request) async throws -> Response {
        let hook = try await find(req)
        let id = UUID()
        let payload = String(
            decoding: try Webhooks.encoder.encode(
                Webhooks.Envelope(
                    id: id.api, type: Webhook.Event.ping.rawValue, createdAt: req.now,
                    data: ["webhook_id": try hook.requireID().api])), as: UTF8.self)
        let delivery = WebhookDelivery(webhookID: try hook.requireID(), event: "ping", payload: payload, now: req.now)
        delivery.id = id
        try await delivery.create(on: req.db)
        return req.redirect(to: SiteURL.webhooks + "/\(try hook.requireID().api)", flash: "flash.webhook_test_queued")
    }

    @Sendable func retry(req: Request) async throws -> Response {
        let hook = try await find(req)
        guard let deliveryID = req.uuidParameter("delivery"),
            let delivery = try await WebhookDelivery.find(deliveryID, on: req.db), delivery.$webhook.id == hook.id
        else { throw Abort(.notFound) }
        if delivery.status == .failed {
            delivery.status = .pending
            delivery.attempts = 0
            delivery.nextAttemptAt = req.now
            try await delivery.save(on: req.db)
        }
        return req.redirect(to: SiteURL.webhooks + "/\(try hook.requireID().api)", flash: "flash.webhook_retry_queued")
    }

    private func find(_ req: Request) async throws -> Webhook {
        guard let id = req.uuidParameter("id"), let hook = try await Webhook.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        return hook
    }
}

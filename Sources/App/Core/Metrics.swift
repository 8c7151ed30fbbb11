import Fluent
import Foundation
import Prometheus
import SQLKit
import Vapor

/// What `/metrics` shows, in the Prometheus text format: HTTP requests by method, route pattern and status class,
/// outbox messages by state, messages sent and SMTP outcomes by class, the age of the oldest message due (worker
/// lag), scheduler runs. Labels are bounded sets: a route's pattern (`/app/candidates/:id`), never a raw path or an
/// address.
final class AppMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    func request(method: String, route: String, status: UInt) {
        registry.makeCounter(
            name: "vivier_http_requests_total",
            labels: [("method", method), ("route", route), ("status", "\(status / 100)xx")],
            help: "HTTP requests answered, by method, route pattern and status class."
        ).increment()
    }

    func smtp(_ outcome: String) {
        registry.makeCounter(
            name: "vivier_smtp_outcomes_total", labels: [("outcome", outcome)],
            help: "SMTP deliveries by outcome: sent (2xx), temporary (4xx), permanent (5xx), in_doubt."
        ).increment()
    }

    func campaignQueued(_ count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(
            name: "vivier_campaign_messages_queued_total", help: "Campaign messages put in the outbox."
        )
        .increment(by: Int64(count))
    }

    func schedulerRun(_ report: Scheduler.Report) {
        registry.makeCounter(name: "vivier_scheduler_runs_total", help: "Runs of the candidate-moment timers.")
            .increment()
        for (kind, count) in [
            ("still_in_progress", report.updates), ("follow_up", report.followUps), ("survey", report.surveys),
            ("digest", report.digests), ("sms", report.texts),
            ("newsletter_digest", report.newsletterDigests), ("retention_notice", report.retentionNotices),
        ] where count > 0 {
            registry.makeCounter(
                name: "vivier_scheduler_messages_total", labels: [("kind", kind)],
                help: "Messages queued by the timers, by kind."
            ).increment(by: Int64(count))
        }
        if report.anonymised > 0 {
            registry.makeCounter(
                name: "vivier_retention_anonymised_total", help: "People anonymised when their retention period ended."
            ).increment(by: Int64(report.anonymised))
        }
    }

    /// The database-derived gauges, read at scrape time; then the whole registry as text.
    func render(db: any Database, now: Date) async throws -> String {
        for status in OutboxMessage.Status.allCases {
            registry.makeGauge(
                name: "vivier_outbox_messages", labels: [("status", status.rawValue)],
                help: "Outbox messages by state."
            ).set(Int64(0))
        }
        for (status, count) in try await Outbox.counts(on: db) {
            registry.makeGauge(
                name: "vivier_outbox_messages", labels: [("status", status.rawValue)],
                help: "Outbox messages by state."
            ).set(Double(count))
        }
        let oldest = try await OutboxMessage.query(on: db).filter(\.$status ~~ [.pending, .retry])
            .filter(\.$nextAttemptAt <= now).sort(\.$nextAttemptAt).first()
        registry.makeGauge(
            name: "vivier_outbox_lag_seconds",
            help: "Age of the oldest message due and not yet sent (0 when the worker keeps up)."
        ).set(oldest.map { now.timeIntervalSince($0.nextAttemptAt) } ?? 0)
        return registry.emitToString()
    }
}

extension Application {
    private struct MetricsKey: StorageKey {
        typealias Value = AppMetrics
    }

    var metrics: AppMetrics {
        get {
            if let metrics = storage[MetricsKey.self] { return metrics }
            let metrics = AppMetrics()
            storage[MetricsKey.self] = metrics
            return metrics
        }
        set { storage[MetricsKey.self] = newValue }
    }
}

/// Counts every answered request under its route pattern (`unmatched` when no route matched).
struct MetricsMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        let route =
            request.route.map { "/" + $0.path.map { "\($0)" }.joined(separator: "/") } ?? "unmatched"
        request.application.metrics.request(method: request.method.rawValue, route: route, status: response.status.code)
        return response
    }
}

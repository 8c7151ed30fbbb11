import Fluent
import Vapor

/// The audit log for admins: newest first, 50 a page, and whether the chain is whole.
struct AuditController {
    static let pageSize = 50

    struct Row: Encodable {
        var seq: Int
        var when: String
        var actor: String
        var action: String
        var target: String
        var detail: String
        var ip: String
    }

    struct Content: Encodable {
        var rows: [Row]
        var intact: Bool
        var verdict: String
        var pagination: Pagination
    }

    @Sendable func list(req: Request) async throws -> Response {
        let total = try await AuditEvent.query(on: req.db).count()
        let pagination = Pagination(
            page: req.query[Int.self, at: "page"] ?? 1, total: total, size: Self.pageSize, path: SiteURL.audit,
            query: [])
        let events = try await AuditEvent.query(on: req.db).sort(\.$seq, .descending)
            .offset(pagination.offset(size: Self.pageSize)).limit(Self.pageSize).all()
        let verdict = try await AuditLog.verify(on: req.db)
        let text: String
        switch verdict {
        case .intact(let count): text = String(format: req.t("audit.intact"), count)
        case .broken(let seq, let reason): text = String(format: req.t("audit.broken"), seq) + " (\(reason))"
        }
        return try await req.page(
            "app/audit", title: req.t("audit.title"),
            Content(
                rows: events.map {
                    Row(
                        seq: $0.seq, when: Dates.dayTime($0.at, req.language), actor: $0.actor,
                        action: req.t("audit.action.\($0.action)"), target: $0.target, detail: $0.detail, ip: $0.ip)
                },
                intact: { if case .intact = verdict { return true } else { return false } }(), verdict: text,
                pagination: pagination))
    }
}

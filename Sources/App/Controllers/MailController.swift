import Fluent
import Vapor
import VivierMail

/// The mail screens: the outbox queue (what Vivier is sending, what failed and why) and, on the embedded default,
/// the Maildir mailbox that shows exactly what candidates would receive.
struct MailController {
    // MARK: - Outbox

    struct QueueRow: Encodable {
        var id: String
        var status: String
        var statusKey: String
        var kind: String
        var recipient: String
        var subject: String
        var attempts: Int
        var reply: String
        var when: String
        var canRetry: Bool
        var canCancel: Bool
    }

    struct Count: Encodable {
        var status: String
        var label: String
        var count: Int
        var selected: Bool
    }

    struct QueueContent: Encodable {
        var counts: [Count]
        var rows: [QueueRow]
        var total: Int
        var status: String
        var q: String
        var pagination: Pagination
        var transport: String
        var canAdminister: Bool
    }

    static let pageSize = 50

    /// The queue, newest first, 50 a page; by status, and by any part of the recipient's address.
    @Sendable func outbox(req: Request) async throws -> Response {
        let filter = req.query[String.self, at: "status"].flatMap(OutboxMessage.Status.init(rawValue:))
        let q = (req.query[String.self, at: "q"] ?? "").trimmed.lowercased()
        let counts = try await Outbox.counts(on: req.db)
        func filtered() -> QueryBuilder<OutboxMessage> {
            var query = OutboxMessage.query(on: req.db)
            if let filter { query = query.filter(\.$status == filter) }
            if !q.isEmpty { query = query.filter(\.$recipient ~~ q) }
            return query
        }
        let total = filter == nil && q.isEmpty ? counts.values.reduce(0, +) : try await filtered().count()
        let pagination = Pagination(
            page: req.query[Int.self, at: "page"] ?? 1, total: total, size: Self.pageSize, path: SiteURL.outbox,
            query: [("status", filter?.rawValue ?? ""), ("q", q)])
        let messages = try await filtered().sort(\.$updatedAt, .descending)
            .offset(pagination.offset(size: Self.pageSize)).limit(Self.pageSize).all()
        let rows = messages.map { message in
            QueueRow(
                id: message.id?.uuidString.lowercased() ?? "",
                status: req.t("outbox.status.\(message.status.rawValue)"),
                statusKey: message.status.rawValue, kind: message.kind, recipient: message.recipient,
                subject: MailReader.decodeWords(message.subject),
                attempts: message.attempts, reply: message.lastReply ?? "",
                when: Dates.dayTime(message.updatedAt ?? req.now, req.language),
                canRetry: [.failed, .inDoubt, .cancelled, .retry].contains(message.status),
                canCancel: [.pending, .retry, .inDoubt].contains(message.status))
        }
        let transport =
            req.application.config.mail.smtp.map { "SMTP \($0.host):\($0.port)" } ?? req.t("outbox.transport_maildir")
        let content = QueueContent(
            counts: OutboxMessage.Status.allCases.map {
                Count(
                    status: $0.rawValue, label: req.t("outbox.status.\($0.rawValue)"), count: counts[$0] ?? 0,
                    selected: $0 == filter)
            },
            rows: rows, total: counts.values.reduce(0, +), status: filter?.rawValue ?? "", q: q,
            pagination: pagination, transport: transport, canAdminister: try req.requireUser().isAdmin)
        return try await req.page("app/outbox", title: req.t("outbox.title"), content)
    }

    @Sendable func retry(req: Request) async throws -> Response {
        let message = try await outboxMessage(req)
        guard [.failed, .inDoubt, .cancelled, .retry].contains(message.status) else {
            throw Abort(.conflict, reason: req.t("outbox.not_retryable"))
        }
        message.status = .retry
        message.nextAttemptAt = req.now
        try await message.save(on: req.db)
        return req.redirect(to: "/app/outbox", flash: "flash.outbox_retry")
    }

    @Sendable func cancel(req: Request) async throws -> Response {
        let message = try await outboxMessage(req)
        guard [.pending, .retry, .inDoubt].contains(message.status) else {
            throw Abort(.conflict, reason: req.t("outbox.not_cancellable"))
        }
        message.status = .cancelled
        try await message.save(on: req.db)
        return req.redirect(to: "/app/outbox", flash: "flash.outbox_cancelled")
    }

    /// Queues a test message to the signed-in admin: the quickest check that mail works end to end.
    @Sendable func sendTest(req: Request) async throws -> Response {
        let user = try req.requireUser()
        let company = try await Company.load(on: req.db)
        let config = req.application.config.mail
        let message = MailMessage(
            from: try MailAddress(config.from.address, name: company.name),
            to: [try MailAddress(user.email, name: user.name)],
            subject: req.t("outbox.test_subject"), text: req.t("outbox.test_body"), date: req.now)
        try await Outbox.enqueue(
            message, kind: "test", dedupeKey: "test:\(UUID().uuidString)", transactional: true, candidateID: nil,
            tracking: req.application.config.secret, on: req.db, now: req.now)
        return req.redirect(to: "/app/outbox", flash: "flash.outbox_test_queued")
    }

    private func outboxMessage(_ req: Request) async throws -> OutboxMessage {
        guard let id = req.uuidParameter("id"), let message = try await OutboxMessage.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        return message
    }

    // MARK: - Mailbox (Maildir)

    struct MailboxRow: Encodable {
        var name: String
        var subject: String
        var to: String
        var date: String
        var url: String
    }

    struct MailboxContent: Encodable {
        var rows: [MailboxRow]
        var directory: String
        var enabled: Bool
        var pagination: Pagination
    }

    @Sendable func mailbox(req: Request) async throws -> Response {
        let directory = req.application.config.mail.maildir
        var files: [(name: String, date: Date)] = []
        for sub in ["new", "cur"] {
            let folder = directory.appendingPathComponent(sub)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
                let attributes = try? FileManager.default.attributesOfItem(
                    atPath: folder.appendingPathComponent(name).path)
                files.append((name, attributes?[.modificationDate] as? Date ?? .distantPast))
            }
        }
        let pagination = Pagination(
            page: req.query[Int.self, at: "page"] ?? 1, total: files.count, size: Self.pageSize,
            path: SiteURL.mailbox, query: [])
        let page = files.sorted { $0.date > $1.date }.dropFirst(pagination.offset(size: Self.pageSize))
            .prefix(Self.pageSize)
        let rows = page.compactMap { file -> MailboxRow? in
            guard let data = try? readMaildirFile(file.name, in: directory) else { return nil }
            let reader = MailReader(Array(data.prefix(16_384)))
            return MailboxRow(
                name: file.name, subject: reader.header("Subject").map(MailReader.decodeWords) ?? "—",
                to: reader.header("To").map(MailReader.decodeWords) ?? "",
                date: Dates.dayTime(file.date, req.language),
                url: "/app/mailbox/\(file.name)")
        }
        return try await req.page(
            "app/mailbox", title: req.t("mailbox.title"),
            MailboxContent(
                rows: rows, directory: directory.path, enabled: req.application.config.mail.smtp == nil,
                pagination: pagination))
    }

    struct Header: Encodable {
        var name: String
        var value: String
    }

    struct MessageContent: Encodable {
        var subject: String
        var headers: [Header]
        var text: String
        var html: String?
        var htmlURL: String
        var attachments: [String]
        var raw: String
    }

    /// The HTML part on its own, for the frame of the message page, as a mail client shows it: inline styles
    /// allowed, no script, nothing loaded from elsewhere, links opening outside the frame.
    @Sendable func mailboxHTML(req: Request) async throws -> Response {
        guard let name = req.parameters.get("name") else { throw Abort(.notFound) }
        let data = try readMaildirFile(name, in: req.application.config.mail.maildir)
        guard let html = MailReader(Array(data)).part("text/html")?.text else { throw Abort(.notFound) }
        let framed = html.replacingOccurrences(of: "<head>", with: "<head><base target=\"_blank\">")
        let response = Response(status: .ok, body: .init(string: framed))
        response.headers.contentType = .html
        // Images: inline ones and the company's logo only — never the open pixel, which would count a recruiter's look.
        let logos = req.application.config.publicURL + "/brand/logo/"
        response.headers.replaceOrAdd(
            name: "Content-Security-Policy",
            value: "default-src 'none'; style-src 'unsafe-inline'; img-src data: \(logos); frame-ancestors 'self'; "
                + "sandbox allow-popups allow-popups-to-escape-sandbox")
        response.headers.replaceOrAdd(name: "X-Frame-Options", value: "SAMEORIGIN")
        return response
    }

    @Sendable func mailboxMessage(req: Request) async throws -> Response {
        guard let name = req.parameters.get("name") else { throw Abort(.notFound) }
        let data = try readMaildirFile(name, in: req.application.config.mail.maildir)
        let reader = MailReader(Array(data))
        let shown = ["From", "To", "Reply-To", "Date", "Subject", "Message-ID", "List-Unsubscribe", "DKIM-Signature"]
        let content = MessageContent(
            subject: reader.header("Subject") ?? "—",
            headers: shown.compactMap { name in reader.header(name).map { Header(name: name, value: $0) } },
            text: reader.part("text/plain")?.text ?? "", html: reader.part("text/html")?.text,
            htmlURL: "/app/mailbox/\(name)/html",
            attachments: reader.parts.filter {
                $0.headers.contains {
                    $0.0.lowercased() == "content-disposition" && $0.1.lowercased().hasPrefix("attachment")
                }
            }
            .map { part in
                MailReader.parameter(
                    "filename", in: part.headers.first { $0.0.lowercased() == "content-disposition" }?.1 ?? "")
                    ?? part.contentType
            },
            raw: String(decoding: data.prefix(200_000), as: UTF8.self))
        return try await req.page("app/mail_message", title: content.subject, content)
    }

    /// Reads a Maildir file by name, refusing anything that is not a plain file name we could have written.
    private func readMaildirFile(_ name: String, in directory: URL) throws -> Data {
        guard !name.isEmpty, name.count < 200, !name.hasPrefix("."),
            name.allSatisfy({
                $0.isASCII
                    && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" || $0 == ":" || $0 == ",")
            })
        else { throw Abort(.notFound) }
        for sub in ["new", "cur"] {
            if let data = FileManager.default.contents(
                atPath: directory.appendingPathComponent(sub).appendingPathComponent(name).path)
            {
                return data
            }
        }
        throw Abort(.notFound)
    }
}

import Fluent
import Vapor
import VivierCore

/// Bringing an existing pool in: upload a CSV, map its columns (with a preview and a dry run that writes nothing),
/// then import in the background with a progress bar and a cancel button. Admins only: it writes personal data
/// in bulk.
struct ImportsController {
    /// 100,000 rows of a typical export fit in about 15 MB.
    static let maxFile = 50 * 1024 * 1024

    struct Row: Encodable {
        var url: String
        var filename: String
        var when: String
        var status: String
        var people: String
    }

    struct ListContent: Encodable {
        var rows: [Row]
        var error: String?
    }

    struct FieldChoice: Encodable {
        var field: String
        var label: String
        var options: [Choice]
    }

    struct Issue: Encodable {
        var line: Int
        var column: String
        var reason: String
    }

    struct ShowContent: Encodable {
        var action: String
        var filename: String
        var status: String
        var statusLabel: String
        var editable: Bool
        var live: Bool
        var fields: [FieldChoice]
        var header: [String]
        var preview: [[String]]
        var report: ImportReport
        var errors: [Issue]
        var merged: [Issue]
        var mergedCount: Int
        var moreErrors: Int
        var processed: Int
        var total: Int
        var percent: Int
        var created: Int
        var completed: Int
        var sendNotice: Bool
    }

    @Sendable func list(req: Request) async throws -> Response {
        try await renderList(req, error: nil)
    }

    private func renderList(_ req: Request, error: String?) async throws -> Response {
        let imports = try await PoolImport.query(on: req.db).sort(\.$createdAt, .descending).limit(50).all()
        return try await req.page(
            "app/imports", title: req.t("import.title"), status: error == nil ? .ok : .unprocessableEntity,
            ListContent(
                rows: try imports.map {
                    Row(
                        url: SiteURL.imports + "/\(try $0.requireID().api)", filename: $0.filename,
                        when: Dates.dayTime($0.createdAt, req.language),
                        status: req.t("import.status.\($0.status.rawValue)"),
                        people: $0.status == .draft ? "—" : "\($0.processed) / \($0.total)")
                }, error: error))
    }

    struct UploadForm: Content {
        var file: File?
    }

    @Sendable func upload(req: Request) async throws -> Response {
        guard let file = try req.content.decode(UploadForm.self).file, file.data.readableBytes > 0 else {
            return try await renderList(req, error: req.t("import.error_no_file"))
        }
        let bytes = Array(file.data.readableBytesView)
        if let problem = await req.antivirusProblem(bytes) { return try await renderList(req, error: req.t(problem)) }
        let table: CSVTable
        do {
            table = try CSVTable.parse(bytes)
        } catch {
            return try await renderList(req, error: "\(req.t("import.error_unreadable")) \(error)")
        }
        guard table.header.count >= 1, !table.records.isEmpty else {
            return try await renderList(req, error: req.t("import.error_no_rows"))
        }
        let job = PoolImport(
            filename: String(Intake.uploadedName(file.filename).prefix(100)).nonEmpty ?? "import.csv",
            storageKey: try req.application.blobs.put(bytes), createdBy: try req.requireUser().id, now: req.now)
        job.mappingJSON = String(decoding: try JSONEncoder().encode(ImportMapping.guess(table.header)), as: UTF8.self)
        job.total = table.records.count
        try await job.create(on: req.db)
        return req.redirect(to: SiteURL.imports + "/\(try job.requireID().api)")
    }

    @Sendable func show(req: Request) async throws -> Response {
        let job = try await find(req)
        let mapping = try JSONDecoder().decode(ImportMapping.self, from: Data(job.mappingJSON.utf8))
        var header: [String] = []
        var preview: [[String]] = []
        var report = (try? ImportRunner.decode(job.reportJSON)) ?? ImportReport()
        if job.status == .draft {
            // The dry run, for the mapping as it stands: nothing is written.
            let bytes = try req.application.blobs.get(job.storageKey)
            let table = try CSVTable.parse(bytes)
            header = table.header
            preview = table.records.prefix(5).map { record in
                ImportField.allCases.map { field in
                    mapping[field].flatMap { table.header.firstIndex(of: $0) }
                        .flatMap { $0 < record.cells.count ? record.cells[$0] : nil } ?? ""
                }
            }
            report =
                Importer.plan(table, mapping: mapping, jobs: try await Job.query(on: req.db).all(), now: req.now)
                .report
        }
        let id = try job.requireID()
        let issues = { (list: [ImportReport.Issue]) in
            list.prefix(200).map { Issue(line: $0.line, column: $0.column, reason: $0.reason(req.t)) }
        }
        return try await req.page(
            "app/import", title: "\(req.t("import.title")) · \(job.filename)",
            ShowContent(
                action: SiteURL.imports + "/\(id.api)", filename: job.filename, status: job.status.rawValue,
                statusLabel: req.t("import.status.\(job.status.rawValue)"), editable: job.status == .draft,
                live: job.status == .queued || job.status == .running,
                fields: ImportField.allCases.map { field in
                    FieldChoice(
                        field: field.rawValue, label: req.t("import.field.\(field.rawValue)"),
                        options: [
                            Choice(value: "", label: req.t("import.not_imported"), selected: mapping[field] == nil)
                        ]
                            + header.map { Choice(value: $0, label: $0, selected: mapping[field] == $0) })
                },
                header: ImportField.allCases.map { req.t("import.field.\($0.rawValue)") }, preview: preview,
                report: report, errors: issues(report.errors), merged: issues(report.merged),
                mergedCount: report.merged.count,
                moreErrors: max(0, report.errorCount - min(report.errors.count, 200)), processed: job.processed,
                total: job.total, percent: job.total == 0 ? 0 : 100 * job.processed / job.total,
                created: job.createdPeople, completed: job.mergedPeople,
                sendNotice: job.sendNotice))
    }

    @Sendable func saveMapping(req: Request) async throws -> Response {
        let job = try await find(req)
        guard job.status == .draft else { throw Abort(.conflict, reason: req.t("import.error_started")) }
        let header = try CSVTable.parse(try req.application.blobs.get(job.storageKey)).header
        var mapping = ImportMapping()
        for field in ImportField.allCases {
            if let column = try? req.content.get(String.self, at: field.rawValue), header.contains(column) {
                mapping[field] = column
            }
        }
        job.mappingJSON = String(decoding: try JSONEncoder().encode(mapping), as: UTF8.self)
        try await job.save(on: req.db)
        return req.redirect(to: SiteURL.imports + "/\(try job.requireID().api)", flash: "flash.import_mapped")
    }

    @Sendable func start(req: Request) async throws -> Response {
        let job = try await find(req)
        let id = try job.requireID()
        guard job.status == .draft else { throw Abort(.conflict, reason: req.t("import.error_started")) }
        let mapping = try JSONDecoder().decode(ImportMapping.self, from: Data(job.mappingJSON.utf8))
        guard mapping[.email] != nil else {
            return req.redirect(to: SiteURL.imports + "/\(id.api)", flash: "import.error_no_email", kind: .error)
        }
        job.sendNotice = (try? req.content.get(String.self, at: "notice")) != nil
        // The dry run's figures, shown while the import runs.
        job.reportJSON = try ImportRunner.encode(try await ImportRunner.plan(job, app: req.application).report)
        job.status = .queued
        job.processed = 0
        try await job.save(on: req.db)
        try await req.audit(.candidatesImported, target: "import:\(id.api)", detail: job.filename)
        return req.redirect(to: SiteURL.imports + "/\(id.api)", flash: "flash.import_queued")
    }

    @Sendable func cancel(req: Request) async throws -> Response {
        let job = try await find(req)
        if [.draft, .queued, .running].contains(job.status) {
            let wasRunning = job.status == .running
            job.status = .cancelled
            job.finishedAt = req.now
            try await job.save(on: req.db)
            // A running import stops at its next batch and removes the file itself.
            if !wasRunning { try? req.application.blobs.delete(job.storageKey) }
        }
        return req.redirect(to: SiteURL.imports + "/\(try job.requireID().api)", flash: "flash.import_cancelled")
    }

    struct Progress: Content {
        var status: String
        var processed: Int
        var total: Int
    }

    @Sendable func progress(req: Request) async throws -> Progress {
        let job = try await find(req)
        return Progress(status: job.status.rawValue, processed: job.processed, total: job.total)
    }

    private func find(_ req: Request) async throws -> PoolImport {
        guard let id = req.uuidParameter("id"), let job = try await PoolImport.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        return job
    }
}

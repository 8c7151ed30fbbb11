import Fluent
import SQLKit
import Vapor
import VivierCore

/// Runs queued imports in the background, beside the outbox worker: batch after batch, each one transaction that
/// also moves the import's `processed` counter, so a crash, a restart or a second instance resumes exactly where it
/// stopped. A cancelled import stops before its next batch; what was written stays (whole people only).
struct ImportRunner {
    let app: Application
    /// People per transaction. Each commit writes every page the batch touched, and keys arrive in random order, so
    /// larger batches rewrite the indexes' pages fewer times (500 → 2,000: a 50,000-row import on SQLite 26.3 →
    /// 20.3 s); a cancel still takes effect within a batch, a second or two.
    static let batchSize = 2_000
    /// How long a claimed import belongs to this process without news from it.
    static let lease: TimeInterval = 120

    enum Failure: Error, CustomStringConvertible {
        case fileMissing
        var description: String { "The uploaded file is gone from the data directory." }
    }

    func run() async {
        while !Task.isCancelled {
            do {
                if try await runNext() { continue }
            } catch {
                app.logger.error("import error", metadata: ["error": .string("\(error)")])
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    /// Claims one queued (or abandoned) import and runs it to its end. Returns whether there was one.
    func runNext() async throws -> Bool {
        let now = app.clock.now()
        guard
            let job = try await PoolImport.query(on: app.db).group(
                .or,
                {
                    $0.filter(\.$status == .queued).group(.and) {
                        $0.filter(\.$status == .running).filter(\.$leaseUntil < now)
                    }
                }
            ).sort(\.$createdAt).first()
        else { return false }
        job.status = .running
        job.leaseUntil = now + Self.lease
        try await job.save(on: app.db)
        try await run(job) { _ in }
        return true
    }

    /// Runs `job` from where it stands; `progress` hears after each batch (the command line draws its bar with it).
    /// `plan` is the job's plan when the caller just made it.
    func run(_ job: PoolImport, plan known: Importer.Plan? = nil, progress: (PoolImport) async -> Void) async throws {
        let jobID = try job.requireID()
        do {
            let plan: Importer.Plan
            if let known { plan = known } else { plan = try await Self.plan(job, app: app) }
            let people = plan.people
            job.total = people.count
            let source = job.filename
            let user = try await job.$createdBy.get(on: app.db)
            while job.processed < people.count {
                let start = job.processed
                let batch = people[start..<min(start + Self.batchSize, people.count)]
                let now = app.clock.now()
                let app = self.app
                let sendNotice = job.sendNotice
                let carriedOn = try await app.db.writeTransaction { db -> Bool in
                    // Read again under the write lock: cancelled meanwhile, or taken over by another process.
                    if db.isPostgres {
                        try await db.sql().raw("SELECT id FROM imports WHERE id = \(bind: jobID) FOR UPDATE").run()
                    }
                    guard let current = try await PoolImport.find(jobID, on: db), current.status == .running,
                        current.processed == start
                    else { return false }
                    let written = try await Importer.write(
                        batch, source: source, by: user, sendNotice: sendNotice, on: db,
                        composer: Composer(db: db, app: app, now: now), now: now)
                    current.total = people.count
                    current.processed = start + batch.count
                    current.createdPeople += written.created
                    current.mergedPeople += written.merged
                    current.applications += written.applications
                    current.leaseUntil = now + Self.lease
                    try await current.save(on: db)
                    job.processed = current.processed
                    job.createdPeople = current.createdPeople
                    job.mergedPeople = current.mergedPeople
                    job.applications = current.applications
                    return true
                }
                await progress(job)
                if !carriedOn { break }
            }
            guard let current = try await PoolImport.find(jobID, on: app.db) else { return }
            if current.status == .running && current.processed >= people.count {
                var report = plan.report
                report.newPeople = current.createdPeople
                report.existingPeople = current.mergedPeople
                current.reportJSON = try Self.encode(report)
                current.status = .done
            }
            if current.status != .running {
                current.finishedAt = app.clock.now()
                current.leaseUntil = nil
                try await current.save(on: app.db)
                // The upload holds personal data: it goes once it is no longer needed.
                try? app.blobs.delete(current.storageKey)
            }
            await progress(current)
        } catch {
            if let current = try await PoolImport.find(jobID, on: app.db) {
                current.status = .failed
                current.finishedAt = app.clock.now()
                var report = (try? Self.decode(current.reportJSON)) ?? ImportReport()
                report.errors.insert(.init(line: 0, column: "", key: "stopped", values: ["\(error)"]), at: 0)
                current.reportJSON = try Self.encode(report)
                try await current.save(on: app.db)
            }
            throw error
        }
    }

    /// The import's file read with its mapping against today's jobs: the same input gives the same plan, which is
    /// what lets a resumed import skip exactly the people already written.
    static func plan(_ job: PoolImport, app: Application) async throws -> Importer.Plan {
        guard let bytes = try? app.blobs.get(job.storageKey) else { throw Failure.fileMissing }
        let table = try CSVTable.parse(bytes)
        let mapping = try JSONDecoder().decode(ImportMapping.self, from: Data(job.mappingJSON.utf8))
        let jobs = try await Job.query(on: app.db).all()
        return Importer.plan(table, mapping: mapping, jobs: jobs, now: app.clock.now())
    }

    static func encode(_ report: ImportReport) throws -> String {
        String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
    }

    static func decode(_ json: String) throws -> ImportReport {
        try JSONDecoder().decode(ImportReport.self, from: Data(json.utf8))
    }
}

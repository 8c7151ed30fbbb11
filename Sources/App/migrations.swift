import Fluent
import SQLKit
import Vapor

extension Application {
    /// Every migration, in order. Append only: never edit or reorder one that has shipped.
    func registerMigrations() {
        migrations.add(CreateUsers())
        migrations.add(CreateJobs())
        migrations.add(CreateCandidates())
        migrations.add(CreateTimeline())
        migrations.add(CreateConsentLedger())
        migrations.add(CreateSearchIndex())
        migrations.add(CreateSettings())
        migrations.add(CreateOutbox())
        migrations.add(UpdateApplicationsAddPromise())
        migrations.add(CreateInterviews())
        migrations.add(CreateMessageTemplates())
        migrations.add(UpdateOutboxAddTemplate())
        migrations.add(CreatePortal())
        migrations.add(UpdateJobsAddAutoUpdates())
        migrations.add(CreatePartners())
        migrations.add(CreateSMS())
        migrations.add(CreateIndicatorIndexes())
        migrations.add(UpdateCandidatesAddRhythm())
        migrations.add(CreateCampaigns())
        migrations.add(UpdateCandidatesAddErasedAt())
        migrations.add(CreateAuditLog())
        migrations.add(CreateSecondFactor())
        migrations.add(CreateApiTokens())
        migrations.add(CreateImports())
        migrations.add(CreateWebhooks())
        migrations.add(CreatePasswordResets())
        migrations.add(UpdateApplicationsAddFacts())
        migrations.add(UpdateOutboxCompressMessages())
        migrations.add(UpdateOutboxSeparateBodies())
        migrations.add(UpdateApplicationsIndexDecisions())
        migrations.add(CreateCandidateFacts(revised: false))
        migrations.add(CreateSearchKeys())
        migrations.add(CreatePersonIndexes())
        migrations.add(UpdateSearchIndexDropBody())
        migrations.add(UpdateCandidateFactsKeyBySearchKey())
        migrations.add(UpdateCandidateFactsAddSearchWords())
    }
}

extension Database {
    /// The SQL side of a Fluent database; both of Vivier's drivers provide it.
    func sql() -> any SQLDatabase {
        guard let sql = self as? any SQLDatabase else { fatalError("Vivier needs an SQL database") }
        return sql
    }

    var isPostgres: Bool { sql().dialect.name == "postgresql" }

    /// A transaction that reads before it writes. On SQLite it takes the write lock first (`BEGIN IMMEDIATE`):
    /// a deferred transaction that read and then wants to write while another connection writes fails at once
    /// with "database is locked" instead of waiting its turn.
    ///
    /// Writers of this process also queue for the file in order (`WriteGate`), instead of meeting in SQLite's busy
    /// handler, which sleeps up to 100 ms between tries: under load that sleep, not the work, set the pace.
    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        if isPostgres { return try await transaction(body) }
        await WriteGate.shared.enter()
        do {
            let result = try await withConnection { connection in
                try await connection.sql().raw("BEGIN IMMEDIATE").run()
                do {
                    let result = try await body(connection)
                    try await connection.sql().raw("COMMIT").run()
                    return result
                } catch {
                    try? await connection.sql().raw("ROLLBACK").run()
                    throw error
                }
            }
            await WriteGate.shared.leave()
            return result
        } catch {
            await WriteGate.shared.leave()
            throw error
        }
    }

    /// Multi-row inserts of `rows`, in statements small enough for SQLite's limit on bound values.
    func insert(into table: String, columns: [String], rows: [[any SQLExpression]]) async throws {
        let perStatement = max(1, 30_000 / columns.count)
        for start in stride(from: 0, to: rows.count, by: perStatement) {
            var statement = sql().insert(into: table).columns(columns)
            for row in rows[start..<min(start + perStatement, rows.count)] { statement = statement.values(row) }
            try await statement.run()
        }
    }

    func createIndex(_ name: String, on table: String, columns: [String]) async throws {
        var builder = sql().create(index: name).on(table)
        for column in columns { builder = builder.column(column) }
        try await builder.run()
    }
}

/// One SQLite write transaction at a time in this process, first come first served. Must not be entered again from
/// inside a write transaction (SQLite could not nest it either).
actor WriteGate {
    static let shared = WriteGate()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
    }

    func leave() {
        if waiting.isEmpty {
            busy = false
        } else {
            waiting.removeFirst().resume()
        }
    }
}

import Fluent
import SQLKit
import Vapor
import VivierCore

/// Full-text search over candidates: one seam, two engines. SQLite uses FTS5 with BM25 ranking, PostgreSQL a
/// `tsvector` with `ts_rank`. Both index text already folded by `Text.fold`, and queries go through the same fold,
/// so "Helene" finds "Hélène" everywhere; every term matches as a prefix ("dev" finds "développeur").
enum SearchIndex {
    /// Rebuilds the indexed text of one candidate from their profile, tags, notes and CV text.
    static func refresh(candidateID: UUID, on db: any Database) async throws {
        guard let candidate = try await Candidate.find(candidateID, on: db) else { return }
        let tags = try await CandidateTag.query(on: db).filter(\.$candidate.$id == candidateID).with(\.$tag).all().map(
            \.tag.name)
        let notes = try await Note.query(on: db).filter(\.$candidate.$id == candidateID).all().map(\.body)
        let documents = try await Document.query(on: db).filter(\.$candidate.$id == candidateID).all().map(\.text)
        let body = Self.body(of: candidate, with: tags + notes + documents)
        let sql = db.sql()
        if db.isPostgres {
            try await sql.raw(
                """
                INSERT INTO candidate_search (candidate_id, document) VALUES (\(bind: candidateID), \(vector(body)))
                ON CONFLICT (candidate_id) DO UPDATE SET document = EXCLUDED.document
                """
            ).run()
        } else {
            try await sql.raw("DELETE FROM candidate_search WHERE rowid = \(key(candidateID))").run()
            try await sql.raw(
                """
                INSERT INTO candidate_search (rowid, candidate_id, body)
                VALUES (\(key(candidateID)), \(bind: candidateID.lowercasedString), \(bind: body))
                """
            ).run()
        }
    }

    /// Entries for people not indexed yet (an import's new people), many to a statement.
    static func add(_ entries: [(candidateID: UUID, body: String)], on db: any Database) async throws {
        if db.isPostgres {
            try await db.insert(
                into: "candidate_search", columns: ["candidate_id", "document"],
                rows: entries.map { [SQLBind($0.candidateID), vector($0.body)] })
            return
        }
        try await db.insert(
            into: "candidate_search", columns: ["rowid", "candidate_id", "body"],
            rows: entries.map { [key($0.candidateID), SQLBind($0.candidateID.lowercasedString), SQLBind($0.body)] })
    }

    /// On PostgreSQL, what the index holds of a text: its words (see `UpdateSearchIndexDropBody`).
    private static func vector(_ body: String) -> SQLQueryString {
        "to_tsvector('simple', \(bind: body))"
    }

    /// On SQLite, the rowid of the person's entry: their number, given with their record (see `CreateSearchKeys`).
    private static func key(_ candidateID: UUID) -> SQLQueryString {
        "(SELECT key FROM search_keys WHERE candidate_id = \(bind: candidateID))"
    }

    /// The indexed text of a person: names and email first (FTS5 and ts_rank both favour short documents, and these
    /// are what people search), then `more` (tags, notes, CV text).
    static func body(of candidate: Candidate, with more: [String]) -> String {
        body(
            firstName: candidate.firstName, lastName: candidate.lastName, email: candidate.email,
            phone: candidate.phone, with: more)
    }

    static func body(firstName: String, lastName: String, email: String, phone: String, with more: [String]) -> String {
        Text.searchable(
            ([firstName, lastName, email, email.split(separator: "@").first.map(String.init) ?? "", phone] + more)
                .joined(separator: " "))
    }

    static func remove(candidateID: UUID, on db: any Database) async throws {
        let sql = db.sql()
        if db.isPostgres {
            try await sql.raw("DELETE FROM candidate_search WHERE candidate_id = \(bind: candidateID)").run()
        } else {
            // The number stays the person's as long as their record exists: their facts are stored under it.
            try await sql.raw("DELETE FROM candidate_search WHERE rowid = \(key(candidateID))").run()
        }
    }

    /// Candidate ids matching every term of `query`, best first.
    static func search(_ query: String, limit: Int = 500, on db: any Database) async throws -> [UUID] {
        let terms = Text.searchTerms(query)
        guard !terms.isEmpty else { return [] }
        let sql = db.sql()
        struct Hit: Decodable { var candidate_id: String }
        struct PGHit: Decodable { var candidate_id: UUID }
        if db.isPostgres {
            let tsquery = terms.map { "\($0):*" }.joined(separator: " & ")
            return try await sql.raw(
                """
                SELECT candidate_id FROM candidate_search WHERE document @@ to_tsquery('simple', \(bind: tsquery))
                ORDER BY ts_rank(document, to_tsquery('simple', \(bind: tsquery))) DESC, candidate_id LIMIT \(literal: limit)
                """
            ).all(decoding: PGHit.self).map(\.candidate_id)
        } else {
            // Each term quoted, so FTS5 operators typed by a user are searched as text.
            let match = terms.map { "\"\($0)\"*" }.joined(separator: " ")
            return try await sql.raw(
                """
                SELECT candidate_id FROM candidate_search WHERE candidate_search MATCH \(bind: match)
                ORDER BY bm25(candidate_search), candidate_id LIMIT \(literal: limit)
                """
            ).all(decoding: Hit.self).compactMap { UUID(uuidString: $0.candidate_id) }
        }
    }
}

import Fluent
import SQLKit
import Vapor
import VivierCore

/// The pool people a newly opened job could interest, ranked and explained: words of the title found in their
/// profile, CV or notes (3 points each), a tag named like one of those words (2), an application to the same
/// department (2) or one that reached an interview (1), the same location (1). Only people who agreed to be
/// contacted about other jobs (talent pool consent) and have not applied to this job are proposed.
enum JobMatch {
    struct Match: Equatable, Sendable {
        var candidateID: UUID
        var score: Int
        /// Language-neutral reasons (`keyword:swift`, `tag:swift`, `department:Data`, `location:Lyon`, `interview`).
        var reasons: [String]
    }

    static let ignoredWords: Set<String> = [
        "and", "the", "for", "with", "les", "des", "pour", "avec", "une", "dans", "sur", "h/f", "f/h", "cdi", "cdd",
        "stage", "senior", "junior", "confirme", "confirmee",
    ]

    static func terms(of job: Job) -> [String] {
        var seen: [String] = []
        for term in Text.searchTerms(job.title) where term.count >= 3 && !ignoredWords.contains(term) {
            if !seen.contains(term) { seen.append(term) }
        }
        return seen
    }

    static func propose(for job: Job, on db: any Database, now: Date, limit: Int = 200) async throws -> [Match] {
        let jobID = try job.requireID()
        let sql = db.sql()
        struct Row: Decodable { var id: UUID }
        func ids(_ query: SQLQueryString) async throws -> Set<UUID> {
            Set(try await sql.raw(query).all(decoding: Row.self).map(\.id))
        }
        let pool = try await ids(
            """
            SELECT f.id FROM candidate_facts f WHERE \(try SegmentQuery(db: db, now: now).condition(
                SegmentDefinition(), requiring: (.talentPool, nil)))
            AND f.id NOT IN (SELECT a.candidate_id FROM applications a WHERE a.job_id = \(bind: jobID))
            """)
        var scores: [UUID: (Int, [String])] = [:]
        func add(_ people: Set<UUID>, _ points: Int, _ reason: String) {
            for id in people.intersection(pool) {
                var entry = scores[id] ?? (0, [])
                entry.0 += points
                entry.1.append(reason)
                scores[id] = entry
            }
        }
        let terms = terms(of: job)
        for term in terms {
            add(Set(try await SearchIndex.search(term, limit: 5000, on: db)), 3, "keyword:\(term)")
        }
        let tags = try await Tag.query(on: db).all().filter { terms.contains(Text.fold($0.name)) }
        for tag in tags {
            add(
                Set(
                    try await CandidateTag.query(on: db).filter(\.$tag.$id == tag.requireID()).all()
                        .map(\.$candidate.id)), 2, "tag:\(tag.name)")
        }
        if !job.department.isEmpty {
            add(
                try await ids(
                    """
                    SELECT a.candidate_id AS id FROM applications a JOIN jobs j ON j.id = a.job_id
                    WHERE LOWER(j.department) = LOWER(\(bind: job.department)) AND j.id <> \(bind: jobID)
                    """), 2, "department:\(job.department)")
        }
        add(
            try await ids(
                """
                SELECT a.candidate_id AS id FROM applications a JOIN stages s ON s.id = a.stage_id
                WHERE s.kind IN ('interview', 'offer', 'hired') AND a.job_id <> \(bind: jobID)
                """), 1, "interview")
        if !job.location.isEmpty {
            let pattern = "%" + job.location.lowercased() + "%"
            add(
                try await ids(
                    """
                    SELECT c.id FROM candidates c WHERE LOWER(c.location) LIKE \(bind: pattern)
                    UNION SELECT a.candidate_id FROM applications a JOIN jobs j ON j.id = a.job_id
                    WHERE LOWER(j.location) LIKE \(bind: pattern) AND j.id <> \(bind: jobID)
                    """), 1, "location:\(job.location)")
        }
        // A place or a past interview alone is not a match: something about the job itself must fit.
        return scores.filter { $0.value.1.contains { !$0.hasPrefix("location:") && $0 != "interview" } }
            .map { Match(candidateID: $0.key, score: $0.value.0, reasons: $0.value.1) }
            .sorted { ($0.score, $1.candidateID.uuidString) > ($1.score, $0.candidateID.uuidString) }
            .prefix(limit).map { $0 }
    }

    /// A reason as a recruiter reads it.
    static func explain(_ reason: String, _ req: Request) -> String {
        let parts = reason.split(separator: ":", maxSplits: 1).map(String.init)
        let label = req.t("match.reason.\(parts[0])")
        return parts.count == 2 ? "\(label) \(parts[1])" : label
    }
}

import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
import VivierCore

@testable import App

@Suite("A person's rights: the export covers everything, the erasure leaves nothing")
struct PrivacyTests {
    /// The entries of a stored ZIP archive, by name (the format itself is checked against Python's zipfile).
    static func entries(of zip: [UInt8]) -> [String: [UInt8]] {
        func number(_ at: Int, _ size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(zip[at + $1]) << (8 * $1) }
        }
        guard zip.count >= 22 else { return [:] }
        let end = zip.count - 22
        var at = number(end + 16, 4)
        var found: [String: [UInt8]] = [:]
        for _ in 0..<number(end + 10, 2) {
            let size = number(at + 24, 4), nameLength = number(at + 28, 2), local = number(at + 42, 4)
            let name = String(decoding: zip[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            let start = local + 30 + number(local + 26, 2) + number(local + 28, 2)
            found[name] = Array(zip[start..<(start + size)])
            at += 46 + nameLength + number(at + 30, 2) + number(at + 32, 2)
        }
        return found
    }

    /// Every table of the database with its columns, as the engine reports them.
    static func schema(_ db: any Database) async throws -> [String: [String]] {
        struct Column: Decodable {
            var table_name: String
            var column_name: String
        }
        let sql = db.sql()
        let columns: [Column]
        if db.isPostgres {
            columns = try await sql.raw(
                """
                SELECT table_name, column_name FROM information_schema.columns
                WHERE table_schema = current_schema()
                """
            ).all(decoding: Column.self)
        } else {
            struct Table: Decodable { var name: String }
            var all: [Column] = []
            for table in try await sql.raw(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).all(decoding: Table.self) {
                struct Info: Decodable { var name: String }
                all += try await sql.raw("SELECT name FROM pragma_table_info(\(bind: table.name))")
                    .all(decoding: Info.self).map { Column(table_name: table.name, column_name: $0.name) }
            }
            columns = all
        }
        return Dictionary(grouping: columns, by: \.table_name).mapValues { $0.map(\.column_name) }
    }

    @Test func export_namesEveryColumnLinkedToAPerson_orSaysWhyNot() async throws {
        try await withApp { app, _ in
            let schema = try await Self.schema(app.db)
            var problems: [String] = []
            for (table, columns) in schema.sorted(by: { $0.key < $1.key }) {
                // FTS5's shadow tables belong to candidate_search.
                if table.hasPrefix("candidate_search_") { continue }
                let linked =
                    table == Candidate.schema
                    || columns.contains { ["candidate_id", "application_id", "application_hash"].contains($0) }
                guard linked else { continue }
                if PersonalData.notExported[table] != nil { continue }
                guard let exported = PersonalData.exportedColumns[table] else {
                    problems.append("\(table) holds a person's data but is neither exported nor excluded")
                    continue
                }
                let excluded = Set(PersonalData.excludedColumns[table]?.keys.map { $0 } ?? [])
                for column in columns where !exported.contains(column) && !excluded.contains(column) {
                    problems.append("\(table).\(column) is neither exported nor on the exclusion list")
                }
                for column in exported.union(excluded) where !columns.contains(column) {
                    problems.append("\(table).\(column) is listed but not in the database")
                }
            }
            for table in PersonalData.exportedColumns.keys where schema[table] == nil {
                problems.append("\(table) is exported but does not exist")
            }
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    @Test func erasure_leavesTheMarkerNowhere_andTheExportHadItEverywhere() async throws {
        try await withApp { app, clock in
            let marker = "zqxmark7731"
            let phoneDigits = "677319942"
            try await Fixtures.user(app, "ana@example.com", role: .admin)
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(
                Browser(app), slug: job.slug, first: "Hélène \(marker)", last: "Lefèvre-\(marker)",
                email: "\(marker)@example.com", phone: "+33 \(phoneDigits)", coverLetter: "Lettre \(marker)",
                cv: Fixtures.textPDF("Curriculum \(marker)"))
            let application = try #require(try await JobApplication.query(on: app.db).first())
            let candidateID = application.$candidate.id
            let candidate = try #require(try await Candidate.find(candidateID, on: app.db))
            candidate.location = "Lyon \(marker)"
            try await candidate.save(on: app.db)

            // What recruiters and the product add: a note, a tag, an interview, a text, a survey comment, a job
            // proposed with its reasons, a delivered message in the local mailbox.
            let recruiter = Browser(app)
            try await recruiter.login("ana@example.com")
            try await recruiter.open(SiteURL.candidate(candidateID))
            _ = try await recruiter.post(SiteURL.candidate(candidateID) + "/notes", [("body", "Note \(marker)")])
            _ = try await recruiter.post(SiteURL.candidate(candidateID) + "/tags", [("name", marker)])
            let day = Dates.iso8601Day(clock.now() + 7 * 86_400)
            let scheduled = try await recruiter.post(
                SiteURL.application(try application.requireID()) + "/interviews",
                [
                    ("date", day), ("time", "10:00"), ("time_zone", "Europe/Paris"), ("duration", "60"),
                    ("location", "Salle \(marker)"), ("video_url", "https://meet.example/\(marker)"),
                    ("interviewers", "Jury \(marker)"),
                ])
            #expect(scheduled.status == .seeOther)
            try await SMSMessage(
                candidateID: candidateID, kind: "reminder", dedupeKey: "sms:reminder", phone: "+33\(phoneDigits)",
                text: "Rappel \(marker)", sendAt: clock.now(), at: clock.now()
            ).create(on: app.db)
            let answer = SurveyAnswer()
            answer.createdAt = clock.now()
            answer.outcome = "rejected"
            answer.score = 8
            answer.comment = "Merci \(marker)"
            answer.applicationHash = Survey.hash(try application.requireID())
            try await answer.create(on: app.db)
            let campaign = try await CampaignTests.campaign(app)
            try await CampaignTarget(
                campaignID: try campaign.requireID(), candidateID: candidateID, score: 3, reasons: ["tag \(marker)"]
            ).create(on: app.db)
            try await CampaignTests.drain(OutboxWorker(app: app))

            // The export holds every planted value, the CV file included.
            let archive = try await PersonalData.archive(
                of: candidateID, db: app.db, blobs: app.blobs, now: clock.now())
            let files = Self.entries(of: archive)
            let json = String(decoding: try #require(files["vivier-data.json"]), as: UTF8.self).lowercased()
            for planted in [
                "hélène \(marker)", "lefèvre-\(marker)", "\(marker)@example.com", phoneDigits, "lettre \(marker)",
                "curriculum \(marker)", "lyon \(marker)", "note \(marker)", "\"\(marker)\"", "salle \(marker)",
                "meet.example/\(marker)", "jury \(marker)", "rappel \(marker)", "merci \(marker)", "tag \(marker)",
            ] {
                #expect(json.contains(planted), "the export lacks \(planted)")
            }
            #expect(files.keys.contains { $0.hasPrefix("files/") && $0.hasSuffix(".pdf") })
            let maildir = app.config.mail.maildir
            #expect(
                try Self.filesContaining(marker, under: app.config.dataDirectory).contains {
                    $0.hasPrefix(maildir.path)
                })

            // Erased (by the admin's button), within the request.
            try await recruiter.open(SiteURL.candidate(candidateID))
            let erased = try await recruiter.post(SiteURL.candidate(candidateID) + "/erase", [])
            #expect(erased.status == .seeOther)

            // Nowhere in the database, in any table or column…
            let dump = try await Self.dump(app.db)
            #expect(!dump.contains(marker) && !dump.contains(phoneDigits), "\(Self.around(marker, in: dump))")
            // …nor in any file under the data directory (CV files, the local mailbox).
            let leftovers = try Self.filesContaining(marker, under: app.config.dataDirectory)
            #expect(leftovers.isEmpty, "\(leftovers)")
            // The address stays only as a hash, which stops every message.
            let hash = Suppression.hash("\(marker)@example.com")
            #expect(
                try await Suppression.query(on: app.db).filter(\.$addressHash == hash).filter(\.$reason == "erased")
                    .count() == 1)
            // The statistics keep the application, its stages and the interview.
            #expect(try await JobApplication.query(on: app.db).count() == 1)
            #expect(try await Interview.query(on: app.db).count() == 1)
            #expect(try await recruiter.get(SiteURL.candidate(candidateID)).status == .notFound)

            // Applying again is a new relationship: a new record, and the acknowledgement is not blocked.
            _ = try await Fixtures.apply(
                Browser(app), slug: job.slug, first: "Hélène", last: "Nouvelle", email: "\(marker)@example.com",
                cv: Fixtures.pdf)
            let again = try #require(
                try await Candidate.query(on: app.db).filter(\.$email == "\(marker)@example.com").first())
            #expect(try again.requireID() != candidateID)
            #expect(try await Suppression.query(on: app.db).filter(\.$addressHash == hash).count() == 0)
            // A second erasure works too (the emptied address stays unique).
            try await PersonalData.erase(
                try again.requireID(), actor: nil, channel: .portal, app: app, db: app.db, now: clock.now())
        }
    }

    /// Every value of every table, as text, lower-cased.
    static func dump(_ db: any Database) async throws -> String {
        struct Row: Decodable { var line: String }
        var text = ""
        for (table, columns) in try await schema(db) {
            let values = columns.map { "COALESCE(CAST(\"\($0)\" AS TEXT), '')" }.joined(separator: " || '|' || ")
            let query = "SELECT \(values) AS line FROM \"\(table)\""
            let rows = try await db.sql().raw("\(unsafeRaw: query)").all(decoding: Row.self)
            text += rows.map { $0.line.lowercased() }.joined(separator: "\n")
        }
        return text
    }

    /// What precedes `needle` in `text`, to say where a leftover is.
    static func around(_ needle: String, in text: String) -> String {
        guard let range = text.range(of: needle) else { return "" }
        return String(text[..<range.upperBound].suffix(120))
    }

    static func filesContaining(_ needle: String, under directory: URL) throws -> [String] {
        let wanted = Array(needle.utf8)
        var found: [String] = []
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            guard let data = FileManager.default.contents(atPath: url.path), !data.isEmpty else { continue }
            let bytes = Array(data)
            if bytes.count >= wanted.count,
                (0...(bytes.count - wanted.count)).contains(where: {
                    bytes[$0..<($0 + wanted.count)].elementsEqual(wanted)
                })
            {
                found.append(url.path)
            }
        }
        return found
    }
}

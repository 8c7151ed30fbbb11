import Fluent
import Foundation
import SQLKit
import Vapor
import VivierCore
import VivierMail

/// Everything Vivier holds about one person, where it lives, and the two rights that act on all of it: the export
/// (GDPR art. 15 and 20: a ZIP with one JSON document and the original files) and the erasure (art. 17).
enum PersonalData {
    // MARK: - Where a person's data lives

    /// Columns of each table the export carries. A test reads the database schema: a column of a table linked to a
    /// person (by `candidate_id`, `application_id` or the survey's application hash) must be here or in
    /// `excludedColumns`, and such a table must be here or in `notExported`.
    static let exportedColumns: [String: Set<String>] = [
        Candidate.schema: keys(Candidate.self), JobApplication.schema: keys(JobApplication.self),
        Interview.schema: keys(Interview.self), Interaction.schema: keys(Interaction.self),
        Note.schema: keys(Note.self), Document.schema: keys(Document.self).subtracting(["storage_key"]),
        ConsentEvent.schema: keys(ConsentEvent.self), CandidateTag.schema: ["id", "candidate_id", "tag_id"],
        CampaignTarget.schema: keys(CampaignTarget.self), CampaignEvent.schema: keys(CampaignEvent.self),
        SMSMessage.schema: keys(SMSMessage.self), SurveyAnswer.schema: keys(SurveyAnswer.self),
        OutboxMessage.schema: [
            "id", "kind", "subject", "recipient", "status", "created_at", "updated_at", "sent_at", "attempts",
            "last_reply", "candidate_id", "application_id", "campaign_id",
        ],
    ]

    /// Columns of exported tables left out, and why.
    static let excludedColumns: [String: [String: String]] = [
        JobApplication.schema: Dictionary(
            uniqueKeysWithValues: (UpdateApplicationsAddFacts.dates + ["from_pool"]).map {
                ($0, "a date or flag the indicators derive from the messages, timeline and consent events exported")
            }),
        Document.schema: ["storage_key": "the file's internal name; the file itself is in the archive"],
        OutboxMessage.schema: [
            "sender": "a bounce address carrying a signature",
            "dedupe_key": "internal key against sending twice", "transactional": "internal sending class",
            "needs_smtputf8": "internal transport flag", "next_attempt_at": "internal retry time",
            "lease_until": "internal worker lease", "claimed_by": "internal worker name",
            "template": "template version",
            "consent_purpose": "the consent checked at sending, in the consent events",
            "consent_series": "the newsletter series checked at sending, in the consent events",
            "not_after": "the campaign's deadline",
        ],
    ]

    /// Tables linked to a person that are not exported, and why.
    static let notExported: [String: String] = [
        "candidate_search":
            "a folded copy of the profile, tags, notes and CV text for search; each is exported from its source",
        "search_keys": "on SQLite, the number of the person's entry in the search index and of their facts",
        ConsentState.schema: "the current state, derived from the consent events, which are exported",
        PortalLink.schema: "hashes of sign-in links sent by email",
        OutboxBody.schema:
            "the raw messages with their live signed links and signatures; their subject, kind and dates are exported",
    ]

    private static func keys<M: Model>(_ model: M.Type) -> Set<String> { Set(M.keys.map(\.description)) }

    // MARK: - Export

    struct Message: Encodable {
        var id: UUID?
        var kind: String
        var subject: String
        var recipient: String
        var status: String
        var createdAt: Date?
        var updatedAt: Date?
        var sentAt: Date?
        var attempts: Int
        var lastReply: String?
        var candidateID: UUID?
        var applicationID: UUID?
        var campaignID: UUID?
    }

    struct Export: Encodable {
        var exportedAt: Date
        var candidate: Candidate
        var applications: [JobApplication]
        var interviews: [Interview]
        var timeline: [Interaction]
        var notes: [Note]
        var documents: [Document]
        var tags: [String]
        var messages: [Message]
        var textMessages: [SMSMessage]
        var consentEvents: [ConsentEvent]
        var campaignActivity: [CampaignEvent]
        var jobsProposed: [CampaignTarget]
        var surveyAnswers: [SurveyAnswer]
        /// Where each original file is in the archive, by document id.
        var files: [String: String]
    }

    /// The person's data as one JSON document and their files, in a ZIP archive.
    static func archive(of candidateID: UUID, db: any Database, blobs: any BlobStore, now: Date) async throws
        -> [UInt8]
    {
        guard let candidate = try await Candidate.find(candidateID, on: db) else { throw Abort(.notFound) }
        let applications = try await JobApplication.query(on: db).filter(\.$candidate.$id == candidateID).all()
        let applicationIDs = applications.compactMap(\.id)
        let documents = try await Document.query(on: db).filter(\.$candidate.$id == candidateID).all()
        var zip = ZipArchive()
        var files: [String: String] = [:]
        for document in documents {
            let id = try document.requireID().lowercasedString
            let name = "files/\(id.prefix(8))-\(safeName(document.originalName))"
            try zip.add(name, try blobs.get(document.storageKey), modified: document.createdAt ?? now)
            files[id] = name
        }
        let export = Export(
            exportedAt: now, candidate: candidate, applications: applications,
            interviews: try await Interview.query(on: db).filter(\.$application.$id ~~ applicationIDs).all(),
            timeline: try await Interaction.query(on: db).filter(\.$candidate.$id == candidateID).sort(\.$createdAt)
                .all(),
            notes: try await Note.query(on: db).filter(\.$candidate.$id == candidateID).all(),
            documents: documents,
            tags: try await CandidateTag.query(on: db).filter(\.$candidate.$id == candidateID).with(\.$tag).all()
                .map(\.tag.name),
            messages: try await OutboxMessage.query(on: db).filter(\.$candidate.$id == candidateID).all().map {
                Message(
                    id: $0.id, kind: $0.kind, subject: MailReader.decodeWords($0.subject), recipient: $0.recipient,
                    status: $0.status.rawValue, createdAt: $0.createdAt, updatedAt: $0.updatedAt, sentAt: $0.sentAt,
                    attempts: $0.attempts, lastReply: $0.lastReply, candidateID: $0.$candidate.id,
                    applicationID: $0.applicationID, campaignID: $0.campaignID)
            },
            textMessages: try await SMSMessage.query(on: db).filter(\.$candidate.$id == candidateID).all(),
            consentEvents: try await ConsentEvent.query(on: db).filter(\.$candidate.$id == candidateID).all(),
            campaignActivity: try await CampaignEvent.query(on: db).filter(\.$candidate.$id == candidateID).all(),
            jobsProposed: try await CampaignTarget.query(on: db).filter(\.$candidate.$id == candidateID).all(),
            surveyAnswers: try await SurveyAnswer.query(on: db)
                .filter(\.$applicationHash ~~ applicationIDs.map(Survey.hash)).all(),
            files: files)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try zip.add("vivier-data.json", Array(try encoder.encode(export)), modified: now)
        return zip.bytes()
    }

    /// The archive as a download that is never cached.
    static func download(_ zip: [UInt8], name: String) -> Response {
        let response = Response(status: .ok, body: .init(data: Data(zip)))
        response.headers.contentType = HTTPMediaType(type: "application", subType: "zip")
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(name)\"")
        response.headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return response
    }

    /// A file name that unpacks anywhere: letters, digits, `.`, `-`, `_`; accents folded, the rest dropped.
    static func safeName(_ name: String) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        let kept = String(
            folded.unicodeScalars.filter {
                $0.isASCII
                    && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0))
            })
        let trimmed = kept.trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return trimmed.isEmpty ? "document" : String(trimmed.prefix(80))
    }

    // MARK: - Erasure

    /// Erases a person and anyone merged into them: names, addresses, phone, location, cover letters, notes, CV
    /// files and their text, search entries, interview details, the bodies and addresses of messages (queued
    /// ones cancelled), texts, free-text timeline details, survey comments, jobs proposed, sign-in links, tags no one
    /// else has, and the copies in the local mailbox. What stays is anonymous and keeps the indicators right: dates, stages,
    /// outcomes, message kinds and statuses, consent events (no free text; the proof of consent) and a hash of
    /// the address in the suppression list, so the person is never written to again.
    enum ErasureReason: String {
        /// The person asked (GDPR art. 17): their address is also suppressed, so nobody writes to them again.
        case request
        /// The retention period ran out: anonymised, not an objection.
        case retention
    }

    static func erase(
        _ candidateID: UUID, actor: UUID?, channel: ConsentChannel, reason: ErasureReason = .request,
        app: Application, db: any Database, now: Date
    ) async throws {
        let people = try await Candidate.query(on: db).group(.or) {
            $0.filter(\.$id == candidateID).filter(\.$mergedInto.$id == candidateID)
        }.all()
        let ids = try people.map { try $0.requireID() }
        let files = try await Document.query(on: db).filter(\.$candidate.$id ~~ ids).all().map(\.storageKey)
        let addresses = people.filter(\.hasAddress).map(\.email)
        try await db.transaction { db in
            for person in people {
                let id = try person.requireID()
                // Objection first: every marketing consent ends, as an event, before the name goes.
                let state = try await ConsentLedger.state(of: id, on: db)
                for purpose in ConsentPurpose.allCases where state[purpose] == true {
                    try await ConsentLedger.record(
                        purpose, .withdrawn, for: id, channel: channel,
                        language: Language(rawValue: person.language) ?? .fr, on: db, now: now)
                }
                let applicationIDs = try await JobApplication.query(on: db).filter(\.$candidate.$id == id).all()
                    .compactMap(\.id)
                try await Document.query(on: db).filter(\.$candidate.$id == id).delete()
                try await Note.query(on: db).filter(\.$candidate.$id == id).delete()
                // A tag only this person had may be made of their data (a name, a detail): it goes with them.
                let tagIDs = try await CandidateTag.query(on: db).filter(\.$candidate.$id == id).all().map(\.$tag.id)
                try await CandidateTag.query(on: db).filter(\.$candidate.$id == id).delete()
                for tagID in tagIDs where try await CandidateTag.query(on: db).filter(\.$tag.$id == tagID).count() == 0
                {
                    try await Tag.query(on: db).filter(\.$id == tagID).delete()
                }
                try await CampaignTarget.query(on: db).filter(\.$candidate.$id == id).delete()
                try await PortalLink.query(on: db).filter(\.$candidate.$id == id).delete()
                try await SearchIndex.remove(candidateID: id, on: db)
                try await JobApplication.query(on: db).filter(\.$candidate.$id == id)
                    .set(\.$coverLetter, to: "").set(\.$sourceDetail, to: "").set(\.$submissionToken, to: nil)
                    .update()
                if !applicationIDs.isEmpty {
                    try await Interview.query(on: db).filter(\.$application.$id ~~ applicationIDs)
                        .set(\.$location, to: "").set(\.$videoURL, to: "").set(\.$interviewers, to: "").update()
                    try await SurveyAnswer.query(on: db).filter(\.$applicationHash ~~ applicationIDs.map(Survey.hash))
                        .set(\.$comment, to: "").update()
                }
                try await Interaction.query(on: db).filter(\.$candidate.$id == id).set(\.$detail, to: "").update()
                try await OutboxMessage.query(on: db).filter(\.$candidate.$id == id)
                    .filter(\.$status ~~ [.pending, .retry, .held]).set(\.$status, to: .cancelled).update()
                try await db.sql().raw(
                    "DELETE FROM outbox_bodies WHERE id IN (SELECT id FROM outbox WHERE candidate_id = \(bind: id))"
                ).run()
                try await OutboxMessage.query(on: db).filter(\.$candidate.$id == id)
                    .set(\.$recipient, to: "").set(\.$subject, to: "").set(\.$sender, to: "")
                    .set(\.$lastReply, to: nil).update()
                try await SMSMessage.query(on: db).filter(\.$candidate.$id == id).filter(\.$status == .pending)
                    .set(\.$status, to: .cancelled).update()
                try await SMSMessage.query(on: db).filter(\.$candidate.$id == id)
                    .set(\.$phone, to: "").set(\.$text, to: "").set(\.$lastError, to: nil).update()
                person.email = Candidate.erasedAddress(id)
                person.firstName = ""
                person.lastName = ""
                person.phone = ""
                person.location = ""
                person.erasedAt = now
                try await person.save(on: db)
                try await Interaction(
                    candidateID: id, applicationID: nil, actorID: actor, kind: .erased, detail: reason.rawValue, at: now
                ).create(on: db)
            }
            for address in Set(addresses.map { $0.lowercased() }) where reason == .request {
                let hash = Suppression.hash(address)
                if try await Suppression.query(on: db).filter(\.$addressHash == hash).filter(\.$reason == "erased")
                    .count() == 0
                {
                    try await Suppression(address: address, reason: "erased", at: now).create(on: db)
                }
            }
        }
        // After the commit: a crash in between leaves files nobody points to, never a record without its file.
        for key in files { try? app.blobs.delete(key) }
        if !db.isPostgres { try await SQLiteSettings.scrub(db) }
        removeFromMailbox(addresses, maildir: app.config.mail.maildir)
    }

    /// The local mailbox (the embedded default's Maildir) keeps a copy of every message sent: the person's go.
    static func removeFromMailbox(_ addresses: [String], maildir: URL) {
        let wanted = Set(addresses.map { $0.lowercased() })
        guard !wanted.isEmpty else { return }
        for folder in ["new", "cur"] {
            let directory = maildir.appendingPathComponent(folder)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] {
                let path = directory.appendingPathComponent(name).path
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                let to = MailReader(Array(data.prefix(16_384))).header("To")?.lowercased() ?? ""
                if wanted.contains(where: { to.contains($0) }) { try? FileManager.default.removeItem(atPath: path) }
            }
        }
    }
}

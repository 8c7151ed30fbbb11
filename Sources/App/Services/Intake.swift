import Crypto
import Fluent
import Vapor
import VivierCore

/// Moment 1, intake: an application arrives (career site, later import and API). One person per email address:
/// an application from a known address joins that person; a second application to the same job refreshes the
/// first instead of doubling it.
struct Intake {
    struct Submission {
        var input: ApplicantInput
        var job: Job?
        var cv: (bytes: [UInt8], kind: DocumentKind, filename: String)?
        var consents: Set<ConsentPurpose>
        var source: JobApplication.Source
        var sourceDetail: String
        var submissionToken: String?
        var language: Language
        var channel: ConsentChannel
    }

    private struct DuplicateSubmission: Error {}

    enum Outcome {
        case created(JobApplication)
        /// This exact form was already submitted (double click, retry): nothing new was written.
        case duplicateSubmission
    }

    let db: any Database
    let blobs: any BlobStore
    let now: Date
    /// What the acknowledgement is written with; nil where no acknowledgement is wanted (imports, tests).
    var acknowledge: (config: AppConfig, shipped: ShippedTemplates)?

    func submit(_ submission: Submission) async throws -> Outcome {
        if let token = submission.submissionToken,
            try await JobApplication.query(on: db).filter(\.$submissionToken == token).first() != nil
        {
            return .duplicateSubmission
        }
        // The file is written first under a fresh name and removed again if the database refuses the rest, so a
        // failure never leaves a file without a record or a record without its file.
        let storageKey = try submission.cv.map { try blobs.put($0.bytes) }
        var result: (JobApplication, Document?)?
        // Two first applications from one new address at the same moment race on the unique email: the loser
        // retries once and finds the person the winner created.
        for attempt in 1...2 where result == nil {
            do {
                result = try await db.writeTransaction { db in
                    try await store(submission, storageKey: storageKey, on: db)
                }
            } catch is DuplicateSubmission {
                if let storageKey { try? blobs.delete(storageKey) }
                return .duplicateSubmission
            } catch  where isConflict(error) {
                if let token = submission.submissionToken,
                    try await JobApplication.query(on: db).filter(\.$submissionToken == token).first() != nil
                {
                    if let storageKey { try? blobs.delete(storageKey) }
                    return .duplicateSubmission
                }
                if attempt == 2 {
                    if let storageKey { try? blobs.delete(storageKey) }
                    throw error
                }
            } catch {
                if let storageKey { try? blobs.delete(storageKey) }
                throw error
            }
        }
        guard let result else { throw Abort(.internalServerError) }
        let (application, document) = result
        if let document, let blobs = blobs as? FileBlobStore {
            document.text = await TextExtractor.text(of: blobs.path(document.storageKey), kind: document.kind)
            if !document.text.isEmpty {
                // The CV's words join the index entry written with the application.
                try await document.save(on: db)
                try await SearchIndex.refresh(candidateID: application.$candidate.id, on: db)
            }
        }
        return .created(application)
    }

    private func store(_ submission: Submission, storageKey: String?, on db: any Database) async throws -> (
        JobApplication, Document?
    ) {
        // Checked again under the write lock: a concurrent copy of this form may have committed meanwhile.
        if let token = submission.submissionToken,
            try await JobApplication.query(on: db).filter(\.$submissionToken == token).count() > 0
        {
            throw DuplicateSubmission()
        }
        let input = submission.input
        let email = EmailAddress.normalize(input.email)
        let candidate: Candidate
        if let existing = try await Candidate.query(on: db).filter(\.$email == email).filter(\.$mergedInto.$id == nil)
            .first()
        {
            // The person's latest own words win: a candidate fixing their name or phone on a new application.
            existing.firstName = input.firstName
            existing.lastName = input.lastName
            if !input.phone.isEmpty { existing.phone = input.phone }
            existing.language = submission.language.rawValue
            candidate = existing
        } else {
            candidate = Candidate(
                email: email, firstName: input.firstName, lastName: input.lastName, phone: input.phone,
                language: submission.language)
            // Someone erased who applies again starts a new relationship: the erasure's block on their address
            // goes (an unsubscribe stays: marketing needs a new consent anyway).
            try await Suppression.query(on: db).filter(\.$addressHash == Suppression.hash(email))
                .filter(\.$reason == "erased").delete()
        }
        candidate.lastActiveContactAt = now
        try await candidate.save(on: db)
        let candidateID = try candidate.requireID()

        var applicationQuery = JobApplication.query(on: db).filter(\.$candidate.$id == candidateID)
        if let jobID = submission.job?.id {
            applicationQuery = applicationQuery.filter(\.$job.$id == jobID)
        } else {
            applicationQuery = applicationQuery.filter(\.$job.$id == nil).filter(\.$outcome == .active)
        }
        let application: JobApplication
        let kind: Interaction.Kind
        if let existing = try await applicationQuery.first() {
            application = existing
            if !input.coverLetter.isEmpty { application.coverLetter = input.coverLetter }
            application.submissionToken = submission.submissionToken
            kind = .applied
            try await application.save(on: db)
        } else {
            var firstStage: Stage?
            if let jobID = submission.job?.id {
                firstStage = try await Stage.query(on: db).filter(\.$job.$id == jobID).sort(\.$position).first()
            }
            application = JobApplication(
                candidateID: candidateID, jobID: submission.job?.id, stageID: firstStage?.id, source: submission.source,
                sourceDetail: submission.sourceDetail, coverLetter: input.coverLetter,
                submissionToken: submission.submissionToken, now: now)
            kind = .applied
            try await application.create(on: db)
            try await Webhooks.emit(.applicationCreated, application: application, on: db, now: now)
        }
        let applicationID = try application.requireID()
        try await Interaction(
            candidateID: candidateID, applicationID: applicationID, actorID: nil, kind: kind,
            detail: submission.job?.title ?? "spontaneous", at: now
        ).create(on: db)

        var document: Document?
        if let cv = submission.cv, let storageKey {
            let digest = SHA256.hash(data: cv.bytes).hexString
            let created = Document(
                candidateID: candidateID, applicationID: applicationID, kind: cv.kind,
                originalName: Self.safeFilename(cv.filename, kind: cv.kind),
                storageKey: storageKey, size: cv.bytes.count, sha256: digest)
            try await created.create(on: db)
            document = created
        }

        for purpose in ConsentPurpose.allCases where submission.consents.contains(purpose) {
            try await ConsentLedger.record(
                purpose, .granted, for: candidateID, channel: submission.channel, language: submission.language,
                applicationID: applicationID, on: db, now: now)
        }
        // In the application's transaction: one commit per application, and no moment where it is not findable.
        try await SearchIndex.refresh(candidateID: candidateID, on: db)
        if let acknowledge {
            try await Newsletter.requestConfirmation(
                of: Array(submission.consents), for: candidate,
                composer: Composer(db: db, config: acknowledge.config, shipped: acknowledge.shipped, now: now))
            try await Acknowledgement(
                composer: Composer(db: db, config: acknowledge.config, shipped: acknowledge.shipped, now: now)
            ).queue(for: application, candidate: candidate, job: submission.job)
        }
        return (application, document)
    }

    /// A display name for the stored file: the user's name stripped of paths, controls and bidi overrides, with the
    /// extension of the detected format. Only ever shown and sent RFC 6266-encoded, never used as a path.
    static func safeFilename(_ raw: String, kind: DocumentKind) -> String {
        var name = uploadedName(raw)
        if let dot = name.lastIndex(of: ".") { name = String(name[..<dot]) }
        name = String(name.prefix(100))
        return (name.isEmpty ? "cv" : name) + "." + kind.fileExtension
    }

    /// The last path component of an uploaded file's name, without controls or bidi overrides. For display only.
    static func uploadedName(_ raw: String) -> String {
        let base = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = base.unicodeScalars.filter { scalar in
            !(scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format)
        }
        return String(String.UnicodeScalarView(cleaned)).trimmed
    }

    /// A unique-key violation (PostgreSQL 23505, SQLite "UNIQUE constraint") or SQLite's busy snapshot when two
    /// writers met: the transaction can be retried after the other one committed.
    private func isConflict(_ error: any Error) -> Bool {
        let text = String(reflecting: error).lowercased()
        return text.contains("unique") || text.contains("23505") || text.contains("database is locked")
            || text.contains("busy")
    }
}

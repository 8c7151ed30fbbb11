import Fluent
import Vapor
import VivierCore

/// A person, unique by normalised email. What the CNIL forbids in recruitment (date of birth, social security
/// number, family situation, photo) has no column here on purpose.
final class Candidate: Model, @unchecked Sendable {
    static let schema = "candidates"

    @ID(key: .id) var id: UUID?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    /// The last act by the candidate (application, reply, click, portal visit); an email open never counts.
    @OptionalField(key: "last_active_contact_at") var lastActiveContactAt: Date?
    /// Set when this record was merged into another person; it then only keeps its consent ledger.
    @OptionalParent(key: "merged_into_id") var mergedInto: Candidate?

    @Field(key: "email") var email: String
    @Field(key: "first_name") var firstName: String
    @Field(key: "last_name") var lastName: String
    @Field(key: "phone") var phone: String
    @Field(key: "language") var language: String
    /// Where the person lives or wants to work ("Lyon"), as they or a recruiter wrote it; optional.
    @Field(key: "location") var location: String
    /// When the person was erased (GDPR art. 17): the record stays, anonymous, for the statistics.
    @OptionalField(key: "erased_at") var erasedAt: Date?

    /// Someone Vivier may write to: not erased, with an address.
    var hasAddress: Bool { erasedAt == nil && !email.isEmpty }

    /// What an erased person's address becomes: unique (the column is), no one's, never deliverable.
    static func erasedAddress(_ id: UUID) -> String { "erased:\(id.lowercasedString)" }
    /// `biweekly` (every issue) or `monthly` (a digest of the month's issues).
    @Field(key: "newsletter_rhythm") var newsletterRhythm: String

    @Children(for: \.$candidate) var applications: [JobApplication]

    init() {}

    init(id: UUID? = nil, email: String, firstName: String, lastName: String, phone: String, language: Language) {
        self.id = id
        self.email = EmailAddress.normalize(email)
        self.firstName = firstName
        self.lastName = lastName
        self.phone = phone
        self.language = language.rawValue
        self.location = ""
        self.newsletterRhythm = "biweekly"
    }

    var fullName: String { "\(firstName) \(lastName)" }
}

/// A candidate's application to a job, or to no job (spontaneous application).
final class JobApplication: Model, @unchecked Sendable {
    static let schema = "applications"

    typealias Source = ApplicationSource

    @ID(key: .id) var id: UUID?
    /// Set from the injected clock, like every time the moments compute with (never the wall clock).
    @OptionalField(key: "created_at") var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    @Parent(key: "candidate_id") var candidate: Candidate
    @OptionalParent(key: "job_id") var job: Job?
    @OptionalParent(key: "stage_id") var stage: Stage?
    @Field(key: "stage_entered_at") var stageEnteredAt: Date
    @Enum(key: "outcome") var outcome: ApplicationOutcome
    @OptionalField(key: "closing_reason") var closingReason: String?
    @OptionalField(key: "decided_at") var decidedAt: Date?
    @Enum(key: "source") var source: Source
    /// Where a job-board application came from (`?source=indeed`), or who referred the candidate.
    @Field(key: "source_detail") var sourceDetail: String
    @Field(key: "cover_letter") var coverLetter: String
    /// The apply form's one-time token: a second submission of the same form finds this row instead of creating one.
    @OptionalField(key: "submission_token") var submissionToken: String?
    /// The answer date promised by the acknowledgement, the delay it stated and what that delay was based on.
    @OptionalField(key: "promised_by") var promisedBy: Date?
    @OptionalField(key: "promised_working_days") var promisedWorkingDays: Int?
    @OptionalField(key: "promise_basis") var promiseBasis: String?

    init() {}

    init(
        candidateID: UUID, jobID: UUID?, stageID: UUID?, source: Source, sourceDetail: String, coverLetter: String,
        submissionToken: String?, now: Date
    ) {
        self.$candidate.id = candidateID
        self.$job.id = jobID
        self.$stage.id = stageID
        self.createdAt = now
        self.stageEnteredAt = now
        self.outcome = .active
        self.source = source
        self.sourceDetail = sourceDetail
        self.coverLetter = coverLetter
        self.submissionToken = submissionToken
    }
}

/// A file a candidate sent (their CV), stored under a generated name in the blob store.
final class Document: Model, @unchecked Sendable {
    static let schema = "documents"

    @ID(key: .id) var id: UUID?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Parent(key: "candidate_id") var candidate: Candidate
    @OptionalParent(key: "application_id") var application: JobApplication?
    @Enum(key: "kind") var kind: DocumentKind
    @Field(key: "original_name") var originalName: String
    @Field(key: "storage_key") var storageKey: String
    @Field(key: "size") var size: Int
    @Field(key: "sha256") var sha256: String
    /// Text extracted for search; empty when extraction failed or the format has no extractor.
    @Field(key: "text") var text: String

    init() {}

    init(
        candidateID: UUID, applicationID: UUID?, kind: DocumentKind, originalName: String, storageKey: String,
        size: Int, sha256: String
    ) {
        self.$candidate.id = candidateID
        self.$application.id = applicationID
        self.kind = kind
        self.originalName = originalName
        self.storageKey = storageKey
        self.size = size
        self.sha256 = sha256
        self.text = ""
    }
}

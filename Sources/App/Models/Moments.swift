import Fluent
import Vapor
import VivierCore

/// One saved version of a message template. Never edited: a save adds the next version, and a sent message names
/// the version it used. `scope` is empty for the company's template, or the id of the job it overrides.
final class TemplateVersion: Model, @unchecked Sendable {
    static let schema = "message_templates"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @OptionalParent(key: "created_by") var author: User?
    @Field(key: "kind") var kind: String
    @Field(key: "language") var language: String
    @Field(key: "scope") var scope: String
    @Field(key: "version") var version: Int
    @Field(key: "subject") var subject: String
    @Field(key: "body") var body: String

    init() {}

    init(
        kind: MessageKind, language: String, scope: String, version: Int, subject: String, body: String,
        authorID: UUID?, at: Date
    ) {
        self.kind = kind.rawValue
        self.language = language
        self.scope = scope
        self.version = version
        self.subject = subject
        self.body = body
        self.$author.id = authorID
        self.createdAt = at
    }
}

/// A magic link to the candidate portal: a 256-bit random token, stored hashed, valid 30 days.
final class PortalLink: Model, @unchecked Sendable {
    static let schema = "portal_links"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "candidate_id") var candidate: Candidate
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "expires_at") var expiresAt: Date

    init() {}

    init(candidateID: UUID, tokenHash: String, expiresAt: Date, at: Date) {
        self.$candidate.id = candidateID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.createdAt = at
    }

    static let lifetime: TimeInterval = 30 * 86_400
}

/// A signed single-use link that has been used: a second use is a replay.
final class UsedToken: Model, @unchecked Sendable {
    static let schema = "used_tokens"

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "used_at") var usedAt: Date

    init() {}

    init(tokenHash: String, at: Date) {
        self.tokenHash = tokenHash
        self.usedAt = at
    }
}

/// A preparation resource: a guide, FAQ, video or tutorial, written in Markdown or pointing to a URL, attached to
/// every stage of a kind (all jobs, or one job).
final class PrepResource: Model, @unchecked Sendable {
    static let schema = "prep_resources"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "title") var title: String
    @Field(key: "summary") var summary: String
    @Field(key: "body") var body: String
    @Field(key: "url") var url: String
    @Field(key: "stage_kind") var stageKind: String
    @OptionalParent(key: "job_id") var job: Job?
    @Field(key: "language") var language: String

    init() {}

    init(
        title: String, summary: String, body: String, url: String, stageKind: StageKind, jobID: UUID?, language: String,
        at: Date
    ) {
        self.title = title
        self.summary = summary
        self.body = body
        self.url = url
        self.stageKind = stageKind.rawValue
        self.$job.id = jobID
        self.language = language
        self.createdAt = at
    }

    /// The resources of a stage kind for a job: those of all jobs and those of this one, in `language`.
    static func forStage(_ kind: StageKind, jobID: UUID?, language: Language, on db: any Database) async throws
        -> [PrepResource]
    {
        try await query(on: db).filter(\.$stageKind == kind.rawValue).filter(\.$language == language.rawValue)
            .group(.or) { group in
                group.filter(\.$job.$id == nil)
                if let jobID { group.filter(\.$job.$id == jobID) }
            }
            .sort(\.$createdAt).all()
    }
}

/// An answer to the satisfaction survey. Holds no link to the person: only the job and the outcome, so that
/// reports stay anonymous; the application id is kept hashed to refuse a second answer.
final class SurveyAnswer: Model, @unchecked Sendable {
    static let schema = "survey_answers"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @OptionalParent(key: "job_id") var job: Job?
    @Field(key: "outcome") var outcome: String
    @Field(key: "score") var score: Int
    @Field(key: "comment") var comment: String
    @Field(key: "application_hash") var applicationHash: String

    init() {}
}

/// A recruiter at a partner company, to whom a candidate who agreed may be introduced with their CV.
final class Partner: Model, @unchecked Sendable {
    static let schema = "partners"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "company") var company: String
    @Field(key: "name") var name: String
    @Field(key: "email") var email: String
    @Field(key: "language") var language: String
    @Field(key: "active") var active: Bool

    init() {}

    init(company: String, name: String, email: String, language: Language, at: Date) {
        self.company = company
        self.name = name
        self.email = email
        self.language = language.rawValue
        self.active = true
        self.createdAt = at
    }
}

/// A text message to a candidate, queued like an email: held until `sendAt`, sent by the scheduler through the
/// configured provider, re-checked against the candidate's consent at the moment of sending.
final class SMSMessage: Model, @unchecked Sendable {
    static let schema = "sms_messages"

    enum Status: String, Codable, Sendable {
        case pending, sent, failed, cancelled
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "candidate_id") var candidate: Candidate
    @Field(key: "kind") var kind: String
    @Field(key: "dedupe_key") var dedupeKey: String
    @Field(key: "phone") var phone: String
    @Field(key: "text") var text: String
    @Enum(key: "status") var status: Status
    @Field(key: "attempts") var attempts: Int
    @Field(key: "send_at") var sendAt: Date
    @OptionalField(key: "sent_at") var sentAt: Date?
    @OptionalField(key: "provider_id") var providerID: String?
    @OptionalField(key: "last_error") var lastError: String?

    init() {}

    init(candidateID: UUID, kind: String, dedupeKey: String, phone: String, text: String, sendAt: Date, at: Date) {
        self.$candidate.id = candidateID
        self.kind = kind
        self.dedupeKey = dedupeKey
        self.phone = phone
        self.text = text
        self.status = .pending
        self.attempts = 0
        self.sendAt = sendAt
        self.createdAt = at
    }
}

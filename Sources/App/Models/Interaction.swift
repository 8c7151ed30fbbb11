import Fluent
import Vapor

/// One entry of a candidate's timeline: what happened, to which application, by whom, when.
final class Interaction: Model, @unchecked Sendable {
    static let schema = "interactions"

    enum Kind: String, Codable, CaseIterable, Sendable {
        case applied
        case stageChanged = "stage_changed"
        case rejected
        case withdrawn
        case reopened
        case note
        case tagAdded = "tag_added"
        case tagRemoved = "tag_removed"
        case consent
        case merged
        case message
        case reply
        case markedUnresponsive = "marked_unresponsive"
        case noShow = "no_show"
        case resourceOpened = "resource_opened"
        case portalVisit = "portal_visit"
        case erasureRequested = "erasure_requested"
        case erased
        case exported
        case cvForwarded = "cv_forwarded"
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "candidate_id") var candidate: Candidate
    @OptionalParent(key: "application_id") var application: JobApplication?
    @OptionalParent(key: "actor_id") var actor: User?
    @Enum(key: "kind") var kind: Kind
    /// Short, already human-readable detail (stage names, tag, reason), in the words of the moment it happened.
    @Field(key: "detail") var detail: String

    init() {}

    init(candidateID: UUID, applicationID: UUID?, actorID: UUID?, kind: Kind, detail: String, at: Date) {
        self.$candidate.id = candidateID
        self.$application.id = applicationID
        self.$actor.id = actorID
        self.kind = kind
        self.detail = detail
        self.createdAt = at
    }
}

/// A recruiter's free-text note on a candidate.
final class Note: Model, @unchecked Sendable {
    static let schema = "notes"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "candidate_id") var candidate: Candidate
    @OptionalParent(key: "author_id") var author: User?
    @Field(key: "body") var body: String

    init() {}

    init(candidateID: UUID, authorID: UUID?, body: String, at: Date) {
        self.$candidate.id = candidateID
        self.$author.id = authorID
        self.body = body
        self.createdAt = at
    }
}

/// A label recruiters put on candidates ("java", "relancer en mars").
final class Tag: Model, @unchecked Sendable {
    static let schema = "tags"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String

    init() {}

    init(name: String) { self.name = name }
}

final class CandidateTag: Model, @unchecked Sendable {
    static let schema = "candidate_tags"

    @ID(key: .id) var id: UUID?
    @Parent(key: "candidate_id") var candidate: Candidate
    @Parent(key: "tag_id") var tag: Tag

    init() {}

    init(candidateID: UUID, tagID: UUID) {
        self.$candidate.id = candidateID
        self.$tag.id = tagID
    }
}

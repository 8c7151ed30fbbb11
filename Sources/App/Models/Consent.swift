import Fluent
import Vapor
import VivierCore

enum ConsentAction: String, Codable, CaseIterable, Sendable {
    case granted, confirmed, withdrawn, renewed, expired
}

enum ConsentChannel: String, Codable, CaseIterable, Sendable {
    case careerForm = "career_form"
    case portal
    case emailLink = "email_link"
    case recruiter
    case `import`
    case api
    /// A STOP reply to a text message.
    case sms
}

/// The exact text a person saw when asked for consent. Never edited: a new wording is a new version.
final class ConsentWording: Model, @unchecked Sendable {
    static let schema = "consent_wordings"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Enum(key: "purpose") var purpose: ConsentPurpose
    @Field(key: "version") var version: Int
    @Field(key: "locale") var locale: String
    @Field(key: "text") var text: String

    init() {}

    init(purpose: ConsentPurpose, version: Int, locale: String, text: String, at: Date) {
        self.purpose = purpose
        self.version = version
        self.locale = locale
        self.text = text
        self.createdAt = at
    }
}

/// One change of consent, append-only: the database itself refuses updates and deletes. A person's current
/// consent is derived from these events, never stored beside them.
final class ConsentEvent: Model, @unchecked Sendable {
    static let schema = "consent_events"

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Parent(key: "candidate_id") var candidate: Candidate
    @Enum(key: "purpose") var purpose: ConsentPurpose
    @Enum(key: "action") var action: ConsentAction
    @Enum(key: "channel") var channel: ConsentChannel
    @Field(key: "wording_version") var wordingVersion: Int
    @Field(key: "locale") var locale: String
    /// A newsletter consent for one series; none means every newsletter.
    @OptionalField(key: "series_id") var seriesID: UUID?
    /// How a consent recorded elsewhere was obtained, as the importing admin's file states it ("salon VivaTech 2026,
    /// formulaire papier"): the proof GDPR art. 7(1) asks for when Vivier did not see the consent given.
    @OptionalField(key: "proof") var proof: String?

    init() {}

    init(
        candidateID: UUID, purpose: ConsentPurpose, action: ConsentAction, channel: ConsentChannel, wordingVersion: Int,
        locale: String, seriesID: UUID? = nil, at: Date
    ) {
        self.seriesID = seriesID
        self.$candidate.id = candidateID
        self.purpose = purpose
        self.action = action
        self.channel = channel
        self.wordingVersion = wordingVersion
        self.locale = locale
        self.createdAt = at
    }
}

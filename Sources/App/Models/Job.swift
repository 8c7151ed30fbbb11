import Fluent
import Vapor
import VivierCore

/// A position a company recruits for.
final class Job: Model, @unchecked Sendable {
    static let schema = "jobs"

    enum Status: String, Codable, CaseIterable, Sendable {
        case draft, open, closed
    }

    enum Contract: String, Codable, CaseIterable, Sendable {
        case cdi, cdd, internship, apprenticeship, freelance, temporary
    }

    enum Remote: String, Codable, CaseIterable, Sendable {
        case onsite, hybrid, remote
    }

    @ID(key: .id) var id: UUID?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    @OptionalField(key: "published_at") var publishedAt: Date?

    @Field(key: "title") var title: String
    @Field(key: "slug") var slug: String
    @Field(key: "department") var department: String
    @Field(key: "location") var location: String
    @Enum(key: "contract_type") var contractType: Contract
    @Enum(key: "remote_policy") var remotePolicy: Remote
    @Field(key: "description") var description: String
    @Field(key: "language") var language: String
    @Enum(key: "status") var status: Status
    @Field(key: "response_target_days") var responseTargetDays: Int
    /// Whether candidates left without news get a "still in progress" update automatically.
    @Field(key: "auto_updates") var autoUpdates: Bool

    @Children(for: \.$job) var stages: [Stage]

    init() {}

    init(
        id: UUID? = nil, title: String, slug: String, department: String, location: String, contractType: Contract,
        remotePolicy: Remote, description: String, language: Language, status: Status = .draft,
        responseTargetDays: Int = 14
    ) {
        self.id = id
        self.title = title
        self.slug = slug
        self.department = department
        self.location = location
        self.contractType = contractType
        self.remotePolicy = remotePolicy
        self.description = description
        self.language = language.rawValue
        self.status = status
        self.responseTargetDays = responseTargetDays
        self.autoUpdates = true
    }
}

/// A user assigned to a job: the recruiters who run it and the hiring managers who may see it.
final class JobMember: Model, @unchecked Sendable {
    static let schema = "job_members"

    @ID(key: .id) var id: UUID?
    @Parent(key: "job_id") var job: Job
    @Parent(key: "user_id") var user: User

    init() {}

    init(jobID: UUID, userID: UUID) {
        self.$job.id = jobID
        self.$user.id = userID
    }
}

/// A column of a job's pipeline.
final class Stage: Model, @unchecked Sendable {
    static let schema = "stages"

    @ID(key: .id) var id: UUID?
    @Parent(key: "job_id") var job: Job
    @Field(key: "position") var position: Int
    @Field(key: "name_fr") var nameFR: String
    @Field(key: "name_en") var nameEN: String
    @Enum(key: "kind") var kind: StageKind

    init() {}

    init(jobID: UUID, position: Int, template: StageTemplate) {
        self.$job.id = jobID
        self.position = position
        self.nameFR = template.nameFR
        self.nameEN = template.nameEN
        self.kind = template.kind
    }

    func name(in language: Language) -> String { language == .fr ? nameFR : nameEN }
}

/// A stage of the pipeline template new jobs copy; admins edit it.
final class PipelineTemplateStage: Model, @unchecked Sendable {
    static let schema = "pipeline_template_stages"

    @ID(key: .id) var id: UUID?
    @Field(key: "position") var position: Int
    @Field(key: "name_fr") var nameFR: String
    @Field(key: "name_en") var nameEN: String
    @Enum(key: "kind") var kind: StageKind

    init() {}

    init(position: Int, template: StageTemplate) {
        self.position = position
        self.nameFR = template.nameFR
        self.nameEN = template.nameEN
        self.kind = template.kind
    }

    var template: StageTemplate { StageTemplate(nameFR: nameFR, nameEN: nameEN, kind: kind) }
}

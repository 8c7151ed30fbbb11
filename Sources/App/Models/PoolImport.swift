import Fluent
import Vapor

/// A CSV file of people (and their past applications) being brought into the pool: uploaded, mapped, checked by a
/// dry run, then imported in the background batch by batch. `processed` moves in the same transaction as the rows
/// it counts, so an import stopped at any point resumes exactly where it was, never with half a row.
final class PoolImport: Model, @unchecked Sendable {
    static let schema = "imports"

    enum Status: String, Codable, Sendable {
        /// Uploaded; the mapping is being chosen and dry-run.
        case draft
        case queued, running, cancelled, done, failed
    }

    @ID(key: .id) var id: UUID?
    @Field(key: "created_at") var createdAt: Date
    @OptionalParent(key: "created_by_id") var createdBy: User?
    @Field(key: "filename") var filename: String
    /// The uploaded file in the blob store, removed when the import ends.
    @Field(key: "storage_key") var storageKey: String
    /// Field → column name, JSON.
    @Field(key: "mapping") var mappingJSON: String
    /// Send the GDPR art. 14 information email to people imported without marketing consent.
    @Field(key: "send_notice") var sendNotice: Bool
    @Enum(key: "status") var status: Status
    /// Records in the file (rows after the header).
    @Field(key: "total") var total: Int
    /// Records handled so far, in file order.
    @Field(key: "processed") var processed: Int
    @Field(key: "created_people") var createdPeople: Int
    @Field(key: "merged_people") var mergedPeople: Int
    @Field(key: "applications") var applications: Int
    /// The dry run's or the import's report, JSON (`ImportReport`).
    @Field(key: "report") var reportJSON: String
    @OptionalField(key: "lease_until") var leaseUntil: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?

    init() {}

    init(filename: String, storageKey: String, createdBy: UUID?, now: Date) {
        self.filename = filename
        self.storageKey = storageKey
        self.$createdBy.id = createdBy
        self.createdAt = now
        self.mappingJSON = "{}"
        self.sendNotice = false
        self.status = .draft
        self.total = 0
        self.processed = 0
        self.createdPeople = 0
        self.mergedPeople = 0
        self.applications = 0
        self.reportJSON = "{}"
    }
}

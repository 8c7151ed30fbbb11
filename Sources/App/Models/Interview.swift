import Fluent
import Vapor

/// An interview of an application. Its `uid` and `sequence` follow the calendar invitation through updates and a
/// cancellation (RFC 5546), so the candidate's calendar changes the same event instead of adding a new one.
final class Interview: Model, @unchecked Sendable {
    static let schema = "interviews"

    enum Status: String, Codable, CaseIterable, Sendable {
        case scheduled, cancelled
        /// The candidate did not come (marked by a recruiter after the time).
        case noShow = "no_show"
    }

    @ID(key: .id) var id: UUID?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?
    @Parent(key: "application_id") var application: JobApplication
    @Field(key: "uid") var uid: String
    @Field(key: "sequence") var sequence: Int
    @Enum(key: "status") var status: Status
    @Field(key: "starts_at") var startsAt: Date
    @Field(key: "duration_minutes") var durationMinutes: Int
    @Field(key: "time_zone") var timeZone: String
    @Field(key: "location") var location: String
    @Field(key: "video_url") var videoURL: String
    @Field(key: "interviewers") var interviewers: String

    init() {}

    init(applicationID: UUID, uid: String) {
        self.$application.id = applicationID
        self.uid = uid
        self.sequence = 0
        self.status = .scheduled
        self.location = ""
        self.videoURL = ""
        self.interviewers = ""
        self.durationMinutes = 60
        self.timeZone = "Europe/Paris"
        self.startsAt = Date()
    }

    var endsAt: Date { startsAt + Double(durationMinutes) * 60 }
}

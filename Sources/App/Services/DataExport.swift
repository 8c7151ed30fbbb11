import Fluent
import Foundation

/// Everything Vivier holds about one person, as one JSON document (GDPR art. 15 and 20): profile, applications,
/// timeline, recruiters' notes, documents (with their extracted text), interviews, messages sent and consent
/// events. The original files are listed here; the download of the files themselves comes with them.
enum DataExport {
    struct Message: Encodable {
        var kind: String
        var subject: String
        var status: String
        var createdAt: Date?
        var sentAt: Date?
    }

    struct Export: Encodable {
        var exportedAt: Date
        var candidate: Candidate
        var applications: [JobApplication]
        var interviews: [Interview]
        var timeline: [Interaction]
        var notes: [Note]
        var documents: [Document]
        var messages: [Message]
        var consentEvents: [ConsentEvent]
    }

    static func json(of candidateID: UUID, on db: any Database, now: Date = Date()) async throws -> Data {
        guard let candidate = try await Candidate.find(candidateID, on: db) else { throw FluentError.noResults }
        let applications = try await JobApplication.query(on: db).filter(\.$candidate.$id == candidateID).all()
        let export = Export(
            exportedAt: now, candidate: candidate, applications: applications,
            interviews: try await Interview.query(on: db).filter(\.$application.$id ~~ applications.compactMap(\.id))
                .all(),
            timeline: try await Interaction.query(on: db).filter(\.$candidate.$id == candidateID).sort(\.$createdAt)
                .all(),
            notes: try await Note.query(on: db).filter(\.$candidate.$id == candidateID).all(),
            documents: try await Document.query(on: db).filter(\.$candidate.$id == candidateID).all(),
            messages: try await OutboxMessage.query(on: db).filter(\.$candidate.$id == candidateID).all().map {
                Message(
                    kind: $0.kind, subject: $0.subject, status: $0.status.rawValue, createdAt: $0.createdAt,
                    sentAt: $0.sentAt)
            },
            consentEvents: try await ConsentEvent.query(on: db).filter(\.$candidate.$id == candidateID).all())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(export)
    }
}

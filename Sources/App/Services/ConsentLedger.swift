import Fluent
import Vapor
import VivierCore

/// The current consent of a person, derived from the append-only events — theirs and those of any record merged
/// into them. The latest event per purpose decides.
enum ConsentLedger {
    static func state(of candidateID: UUID, on db: any Database) async throws -> [ConsentPurpose: Bool] {
        let merged = try await Candidate.query(on: db).filter(\.$mergedInto.$id == candidateID).all().compactMap(\.id)
        let events = try await ConsentEvent.query(on: db).filter(\.$candidate.$id ~~ ([candidateID] + merged)).sort(
            \.$createdAt
        ).all()
        var state: [ConsentPurpose: Bool] = [:]
        for event in events {
            state[event.purpose] = [.granted, .confirmed, .renewed].contains(event.action)
        }
        return state
    }

    /// Appends one event, against the wording currently shown in `language`, and notes it on the timeline.
    static func record(
        _ purpose: ConsentPurpose, _ action: ConsentAction, for candidateID: UUID, channel: ConsentChannel,
        language: Language, on db: any Database, now: Date
    ) async throws {
        let version =
            try await ConsentWording.query(on: db).filter(\.$purpose == purpose)
            .filter(\.$locale == language.rawValue).sort(\.$version, .descending).first()?.version ?? 1
        try await ConsentEvent(
            candidateID: candidateID, purpose: purpose, action: action, channel: channel, wordingVersion: version,
            locale: language.rawValue, at: now
        ).create(on: db)
        try await Interaction(
            candidateID: candidateID, applicationID: nil, actorID: nil, kind: .consent,
            detail: "\(purpose.rawValue):\(action.rawValue)", at: now
        ).create(on: db)
    }
}

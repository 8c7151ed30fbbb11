import Fluent
import Vapor

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
}

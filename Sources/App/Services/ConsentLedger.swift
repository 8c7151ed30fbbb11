import Fluent
import Vapor
import VivierCore

/// The current consent of a person, derived from the append-only events — theirs and those of any record merged
/// into them. The latest event per purpose decides; for newsletters, the latest of those about every newsletter and
/// those about the one series. `consent_states` keeps the result beside the ledger for segment queries.
enum ConsentLedger {
    static func state(of candidateID: UUID, series: UUID? = nil, on db: any Database) async throws
        -> [ConsentPurpose: Bool]
    {
        state(from: try await events(of: candidateID, on: db), series: series)
    }

    /// Whether the person receives each of `series`, from one reading of their ledger.
    static func newsletters(of candidateID: UUID, series: [UUID], on db: any Database) async throws -> [UUID: Bool] {
        let events = try await events(of: candidateID, on: db)
        return Dictionary(
            uniqueKeysWithValues: series.map { ($0, state(from: events, series: $0)[.newsletter] ?? false) })
    }

    private static func state(from events: [ConsentEvent], series: UUID?) -> [ConsentPurpose: Bool] {
        var state: [ConsentPurpose: Bool] = [:]
        for event in events where event.seriesID == nil || event.seriesID == series {
            state[event.purpose] = [.granted, .confirmed, .renewed].contains(event.action)
        }
        return state
    }

    private static func events(of candidateID: UUID, on db: any Database) async throws -> [ConsentEvent] {
        let merged = try await Candidate.query(on: db).filter(\.$mergedInto.$id == candidateID).all().compactMap(\.id)
        return try await ConsentEvent.query(on: db).filter(\.$candidate.$id ~~ ([candidateID] + merged))
            .sort(\.$createdAt).all()
    }

    /// Appends one event, against the wording currently shown in `language`, notes it on the timeline and updates
    /// the person's current state.
    static func record(
        _ purpose: ConsentPurpose, _ action: ConsentAction, for candidateID: UUID, channel: ConsentChannel,
        language: Language, series: UUID? = nil, applicationID: UUID? = nil, on db: any Database, now: Date
    ) async throws {
        let version =
            try await ConsentWording.query(on: db).filter(\.$purpose == purpose)
            .filter(\.$locale == language.rawValue).sort(\.$version, .descending).first()?.version ?? 1
        try await ConsentEvent(
            candidateID: candidateID, purpose: purpose, action: action, channel: channel, wordingVersion: version,
            locale: language.rawValue, seriesID: series, at: now
        ).create(on: db)
        try await Interaction(
            candidateID: candidateID, applicationID: applicationID, actorID: nil, kind: .consent,
            detail: "\(purpose.rawValue):\(action.rawValue)", at: now
        ).create(on: db)
        try await Webhooks.emit(
            .consentChanged,
            Webhooks.ConsentData(
                candidateID: candidateID.api, purpose: purpose.rawValue, action: action.rawValue,
                channel: channel.rawValue), on: db, now: now)
        try await refresh(candidateID, on: db)
        if action == .withdrawn || action == .expired {
            // Effective for what is already queued, even a message a worker has claimed: it only sends what it
            // can still mark in flight, so the withdrawal and the send are ordered by the database.
            var queued = OutboxMessage.query(on: db).filter(\.$candidate.$id == candidateID)
                .filter(\.$consentPurpose == purpose).filter(\.$status ~~ [.pending, .retry, .held, .claimed])
            if let series { queued = queued.filter(\.$consentSeries == series) }
            try await queued.set(\.$status, to: .suppressed).set(\.$lastReply, to: "consent withdrawn before sending")
                .update()
        }
    }

    /// Rewrites the current state of a person from the ledger: one row per purpose and series, the latest event's
    /// action. A record merged into another keeps no state of its own.
    static func refresh(_ candidateID: UUID, on db: any Database) async throws {
        try await ConsentState.query(on: db).filter(\.$candidate.$id == candidateID).delete()
        guard let candidate = try await Candidate.find(candidateID, on: db), candidate.$mergedInto.id == nil else {
            return
        }
        var latest: [String: ConsentEvent] = [:]
        for event in try await events(of: candidateID, on: db) {
            latest["\(event.purpose.rawValue)|\(event.seriesID?.lowercasedString ?? "")"] = event
        }
        for (key, event) in latest {
            try await ConsentState(
                candidateID: candidateID, purpose: event.purpose,
                series: String(key.split(separator: "|", omittingEmptySubsequences: false)[1]), action: event.action,
                at: event.createdAt
            ).create(on: db)
        }
    }

    /// Those of `candidateIDs` who may receive marketing for `purpose` (and `series`) now: their latest relevant
    /// event is a confirmation or a renewal. The talent pool needs no confirmation by email: its consent is given
    /// on the form itself, and nothing is sent in bulk for it alone.
    static func marketable(
        _ candidateIDs: [UUID], purpose: ConsentPurpose, series: UUID?, on db: any Database
    ) async throws -> Set<UUID> {
        guard !candidateIDs.isEmpty else { return [] }
        let seriesKeys = [""] + (series.map { [$0.lowercasedString] } ?? [])
        var latest: [UUID: ConsentState] = [:]
        for chunk in stride(from: 0, to: candidateIDs.count, by: 500).map({
            Array(candidateIDs[$0..<min($0 + 500, candidateIDs.count)])
        }) {
            for state in try await ConsentState.query(on: db).filter(\.$candidate.$id ~~ chunk)
                .filter(\.$purpose == purpose).filter(\.$series ~~ seriesKeys).all()
            where latest[state.$candidate.id].map({ $0.at <= state.at }) ?? true {
                latest[state.$candidate.id] = state
            }
        }
        let accepted: Set<ConsentAction> =
            Newsletter.doubleOptIn.contains(purpose)
            ? [.confirmed, .renewed] : [.granted, .confirmed, .renewed]
        return Set(latest.filter { accepted.contains($0.value.action) }.keys)
    }
}

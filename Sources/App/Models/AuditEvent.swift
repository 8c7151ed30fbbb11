import Fluent
import Foundation

/// One line of the audit log: who did what to what, when, from where. Append-only (the engine refuses changes) and
/// chained: each event's hash covers the previous event's, so a removed or altered line breaks the chain.
final class AuditEvent: Model, @unchecked Sendable {
    static let schema = "audit_events"

    @ID(key: .id) var id: UUID?
    /// The event's position in the chain, from 1, without gaps.
    @Field(key: "seq") var seq: Int
    @Field(key: "at") var at: Date
    @OptionalField(key: "actor_id") var actorID: UUID?
    /// The actor's address at the time (a user), or `portal`, `system`.
    @Field(key: "actor") var actor: String
    @Field(key: "action") var action: String
    /// What was acted on, as `kind:id` (`candidate:…`, `user:…`, `settings:company`): ids, never names.
    @Field(key: "target") var target: String
    @Field(key: "detail") var detail: String
    @Field(key: "ip") var ip: String
    @Field(key: "prev_hash") var previousHash: String
    @Field(key: "hash") var hash: String

    init() {}
}

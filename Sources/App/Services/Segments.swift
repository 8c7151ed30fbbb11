import Fluent
import SQLKit
import Vapor
import VivierCore

/// Turns segment definitions into SQL over `candidates c` (the same statement shape on SQLite and PostgreSQL), and
/// counts or lists the people they match. Every value is a bound parameter; the definition is data, never SQL.
struct SegmentQuery {
    let db: any Database
    let now: Date
    /// For a first page in id order: PostgreSQL then walks the people by id and stops at the page's end, instead of
    /// computing the whole list first (which is what makes counts fast).
    var streaming = false
    /// For people already chosen by the rest of the query (the recipients of some messages): every condition that
    /// looks into another table is an index probe per person, never a list of everyone it holds for.
    var probing = false

    init(db: any Database, now: Date) {
        self.db = db
        self.now = now
    }

    struct Invalid: Error, CustomStringConvertible {
        var problems: [String]
        var description: String { problems.joined(separator: "; ") }
    }

    /// The people a definition matches, with an optional consent every one of them must hold: the condition after
    /// `WHERE` for `FROM candidates c`.
    func condition(_ definition: SegmentDefinition, requiring consent: (ConsentPurpose, UUID?)? = nil) throws
        -> any SQLExpression
    {
        let problems = SegmentDefinition.problems(of: definition)
        guard problems.isEmpty else { throw Invalid(problems: problems) }
        var parts: [any SQLExpression] = [SQLRaw("c.merged_into_id IS NULL AND c.email <> ''")]
        if !definition.isEmpty { parts.append(group(definition)) }
        if let consent {
            parts.append(consentState(consent.0, series: consent.1, state: .active))
        }
        return SQLList(parts, separator: SQLRaw(" AND "))
    }

    func count(_ definition: SegmentDefinition, requiring consent: (ConsentPurpose, UUID?)? = nil) async throws -> Int {
        let condition = try condition(definition, requiring: consent)
        struct Row: Decodable { var n: Int }
        return try await db.sql().raw("SELECT COUNT(*) AS n FROM candidates c WHERE \(condition)").first(
            decoding: Row.self)?.n ?? 0
    }

    /// A page of matching people, in a stable order (by id) so that `after` continues where a page ended.
    func page(
        _ definition: SegmentDefinition, requiring consent: (ConsentPurpose, UUID?)? = nil, after: UUID? = nil,
        limit: Int
    ) async throws -> [UUID] {
        var streaming = self
        streaming.streaming = true
        let condition = try streaming.condition(definition, requiring: consent)
        let from: any SQLExpression = after.map { SQLQueryString("AND c.id > \(bind: $0)") } ?? SQLRaw("")
        struct Row: Decodable { var id: UUID }
        return try await db.sql().raw(
            "SELECT c.id AS id FROM candidates c WHERE \(condition) \(from) ORDER BY c.id LIMIT \(literal: limit)"
        ).all(decoding: Row.self).map(\.id)
    }

    // MARK: - Compilation

    /// A condition answered by another table: the people for whom `condition` holds in `from`, joined on `column`.
    private struct Lookup {
        var from: SQLQueryString
        var column: String
        var condition: SQLQueryString

        /// `c.id IN (…)`: the list is built once; the engine can start from it.
        var membership: SQLQueryString { "c.id IN (SELECT \(unsafeRaw: column) FROM \(from) WHERE \(condition))" }
        /// `c.id = ANY(ARRAY(…))`: PostgreSQL computes the list first, then reads the people in index order — far
        /// faster than its hash of a selective list when a condition keeps few people.
        var array: SQLQueryString {
            "c.id = ANY(ARRAY(SELECT \(unsafeRaw: column) FROM \(from) WHERE \(condition)))"
        }
        /// `EXISTS (…)`: one index probe per person already selected by something else.
        var probe: SQLQueryString {
            "EXISTS (SELECT 1 FROM \(from) WHERE \(unsafeRaw: column) = c.id AND \(condition))"
        }
    }

    /// How few people a condition is likely to keep (lower: fewer), to choose where a query starts.
    private static func rank(_ field: SegmentRule.Field) -> Int {
        switch field {
        case .keywords: 0
        case .tag: 1
        case .job: 2
        case .clicked, .opened: 3
        case .consent: 4
        case .stageReached: 5
        case .department: 6
        case .source: 7
        case .outcome: 8
        case .appliedAfter, .appliedBefore: 9
        case .location: 10
        case .status: 11
        case .language, .activeAfter, .activeBefore: 12
        }
    }

    private func rank(_ definition: SegmentDefinition) -> Int {
        if definition.negate { return 99 }
        let ranks = definition.rules.map { $0.negate ? 99 : Self.rank($0.field) } + definition.groups.map(rank)
        return (definition.match == .any ? ranks.max() : ranks.min()) ?? 99
    }

    /// An AND group starts from its most selective member, written as a list; the other members that look into
    /// another table become index probes, so the engine builds one list instead of one per condition.
    private func group(_ definition: SegmentDefinition) -> any SQLExpression {
        enum Member {
            case rule(SegmentRule)
            case group(SegmentDefinition)
        }
        var members: [(Member, Int)] =
            definition.rules.map { (.rule($0), $0.negate ? 99 : Self.rank($0.field)) }
            + definition.groups.filter { !$0.isEmpty }.map { (.group($0), rank($0)) }
        let probing = definition.match == .all
        if probing { members.sort { $0.1 < $1.1 } }
        // A first page on SQLite without a selective condition walks the people in id order and probes each, so it
        // stops at the page's end instead of building the list of a whole department first.
        var driverChosen = self.probing || (probing && streaming && !db.isPostgres && (members.first?.1 ?? 99) > 3)
        let parts: [any SQLExpression] = members.map { member, _ in
            switch member {
            case .group(let nested):
                driverChosen = true
                return group(nested)
            case .rule(let rule):
                let probe = (self.probing || probing && driverChosen) && lookup(rule) != nil
                if !rule.negate { driverChosen = true }
                return self.rule(rule, probe: probe)
            }
        }
        let joined = SQLGroupExpression(
            parts.isEmpty
                ? SQLRaw(definition.match == .all ? "1 = 1" : "1 = 0")
                : SQLList(parts, separator: SQLRaw(definition.match == .all ? " AND " : " OR ")))
        return definition.negate ? SQLQueryString("NOT \(joined)") : joined
    }

    private func rule(_ rule: SegmentRule, probe: Bool) -> any SQLExpression {
        let expression = predicate(rule, probe: probe)
        return rule.negate ? SQLQueryString("NOT (\(expression))") : SQLGroupExpression(expression)
    }

    /// The conditions answered by another table, as a `Lookup`; nil for those on the person's own row (and for
    /// keywords and series consents, which are always lists).
    private func lookup(_ rule: SegmentRule) -> Lookup? {
        let value = rule.value.trimmingCharacters(in: .whitespaces)
        let applications: SQLQueryString = "applications a"
        switch rule.field {
        case .outcome:
            return Lookup(from: applications, column: "a.candidate_id", condition: "a.outcome = \(bind: value)")
        case .stageReached:
            let kinds = StageKind.allCases.drop { $0.rawValue != value }.map { SQLBind($0.rawValue) }
            return Lookup(
                from: "applications a JOIN stages s ON s.id = a.stage_id", column: "a.candidate_id",
                condition: "s.kind IN (\(SQLList(kinds)))")
        case .job:
            return Lookup(
                from: applications, column: "a.candidate_id", condition: "a.job_id = \(bind: UUID(uuidString: value)!)")
        case .department:
            return Lookup(
                from: "applications a JOIN jobs j ON j.id = a.job_id", column: "a.candidate_id",
                condition: "LOWER(j.department) = LOWER(\(bind: value))")
        case .tag:
            return Lookup(
                from: "candidate_tags ct JOIN tags t ON t.id = ct.tag_id", column: "ct.candidate_id",
                condition: "LOWER(t.name) = LOWER(\(bind: value))")
        case .source:
            return Lookup(from: applications, column: "a.candidate_id", condition: "a.source = \(bind: value)")
        case .appliedAfter:
            return Lookup(
                from: applications, column: "a.candidate_id",
                condition: "a.created_at >= \(bind: SegmentDefinition.day(value)!)")
        case .appliedBefore:
            return Lookup(
                from: applications, column: "a.candidate_id",
                condition: "a.created_at < \(bind: SegmentDefinition.day(value)!)")
        case .status:
            return Lookup(from: applications, column: "a.candidate_id", condition: "a.outcome = 'active'")
        case .opened, .clicked:
            let since = now - Double(Int(value)!) * 86_400
            return Lookup(
                from: "campaign_events e", column: "e.candidate_id",
                condition: "e.kind = \(bind: rule.field == .opened ? "open" : "click") AND e.at >= \(bind: since)")
        case .consent:
            guard let (purpose, series) = SegmentDefinition.consentTarget(value), series == nil,
                let state = SegmentRule.ConsentStateName(rawValue: rule.option), state != .none
            else { return nil }
            let actions = Self.actions(purpose, state)
            guard !actions.isEmpty else { return nil }
            return Lookup(
                from: "consent_states s", column: "s.candidate_id",
                condition:
                    "s.purpose = \(bind: purpose.rawValue) AND s.series = '' AND s.action IN (\(SQLList(actions.map { SQLBind($0.rawValue) })))"
            )
        case .keywords, .location, .language, .activeAfter, .activeBefore: return nil
        }
    }

    private func predicate(_ rule: SegmentRule, probe: Bool) -> SQLQueryString {
        let value = rule.value.trimmingCharacters(in: .whitespaces)
        if rule.field == .status, let active = lookup(rule) {
            let present = probe ? active.probe : active.membership
            return value == "current" ? present : "NOT \(present)"
        }
        if let lookup = lookup(rule) {
            if probe { return lookup.probe }
            return db.isPostgres && !streaming && Self.rank(rule.field) <= 3 ? lookup.array : lookup.membership
        }
        switch rule.field {
        case .keywords:
            let terms = Text.searchTerms(value)
            if db.isPostgres {
                let query = terms.map { "\($0):*" }.joined(separator: " & ")
                let list: SQLQueryString =
                    "SELECT candidate_id FROM candidate_search WHERE document @@ to_tsquery('simple', \(bind: query))"
                return streaming ? "c.id IN (\(list))" : "c.id = ANY(ARRAY(\(list)))"
            }
            let match = terms.map { "\"\($0)\"*" }.joined(separator: " ")
            return
                "c.id IN (SELECT UPPER(candidate_id) FROM candidate_search WHERE candidate_search MATCH \(bind: match))"
        case .location:
            let pattern = "%" + value.lowercased() + "%"
            return
                "(LOWER(c.location) LIKE \(bind: pattern) OR EXISTS (SELECT 1 FROM applications a JOIN jobs j ON j.id = a.job_id WHERE a.candidate_id = c.id AND LOWER(j.location) LIKE \(bind: pattern)))"
        case .language:
            return "c.language = \(bind: value)"
        case .activeAfter:
            return "COALESCE(c.last_active_contact_at, c.created_at) >= \(bind: SegmentDefinition.day(value)!)"
        case .activeBefore:
            return "COALESCE(c.last_active_contact_at, c.created_at) < \(bind: SegmentDefinition.day(value)!)"
        default:
            let (purpose, series) = SegmentDefinition.consentTarget(value)!
            return consentState(purpose, series: series, state: SegmentRule.ConsentStateName(rawValue: rule.option)!)
        }
    }

    private static func actions(_ purpose: ConsentPurpose, _ state: SegmentRule.ConsentStateName) -> [ConsentAction] {
        switch state {
        case .active:
            Newsletter.doubleOptIn.contains(purpose) ? [.confirmed, .renewed] : [.granted, .confirmed, .renewed]
        case .pending: Newsletter.doubleOptIn.contains(purpose) ? [.granted] : []
        case .withdrawn: [.withdrawn, .expired]
        case .none: []
        }
    }

    /// People whose current consent for `purpose` (and series) is in `state`. Without a series, only the consent to
    /// every newsletter counts; with one, the latest of that and the series' own.
    private func consentState(_ purpose: ConsentPurpose, series: UUID?, state: SegmentRule.ConsentStateName)
        -> SQLQueryString
    {
        let seriesKeys = SQLList(([""] + (series.map { [$0.lowercasedString] } ?? [])).map { SQLBind($0) })
        let scope: SQLQueryString = "s.purpose = \(bind: purpose.rawValue) AND s.series IN (\(seriesKeys))"
        if state == .none {
            return "c.id NOT IN (SELECT s.candidate_id FROM consent_states s WHERE \(scope))"
        }
        let actions = Self.actions(purpose, state)
        guard !actions.isEmpty else { return "1 = 0" }
        let latest: SQLQueryString =
            series == nil
            ? ""
            : """
             AND NOT EXISTS (SELECT 1 FROM consent_states s2 WHERE s2.candidate_id = s.candidate_id \
            AND s2.purpose = s.purpose AND s2.series IN (\(seriesKeys)) AND s2.at > s.at)
            """
        return
            "c.id IN (SELECT s.candidate_id FROM consent_states s WHERE \(scope) AND s.action IN (\(SQLList(actions.map { SQLBind($0.rawValue) })))\(latest))"
    }
}

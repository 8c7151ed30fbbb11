import Fluent
import SQLKit
import Vapor
import VivierCore

/// Turns segment definitions into SQL over the people's facts `candidate_facts f` (the same statement shape on SQLite
/// and PostgreSQL), and counts or lists the people they match. Every value is a bound parameter; the definition is
/// data, never SQL. What a person's own facts answer (their tags, their applications' outcomes, departments and
/// dates, current consents…) is a condition on their row; jobs, keywords, campaign activity and series consents look
/// into other tables.
struct SegmentQuery {
    let db: any Database
    let now: Date
    /// For a first page in id order: on SQLite, a query without a selective condition then walks the people by id
    /// and stops at the page's end, instead of computing the whole list first (which is what makes counts fast).
    var streaming = false
    /// For people already chosen by the rest of the query (the recipients of some messages): every condition that
    /// looks into another table is an index probe per person, never a list of everyone it holds for.
    var probing = false
    /// On SQLite, where a query runs on one core: connections of other event loops that a count splits the people
    /// with, each lane counting a range of people side by side (see `Application.sqliteLanes`). Empty: one query.
    var lanes: [any Database] = []
    /// On SQLite, the numbers of the people a lane counts (see `UpdateCandidateFactsKeyBySearchKey`): above `after`,
    /// up to `through`; nil: unbounded. A keyword's list is then asked of the search index for those numbers only.
    private var keys: (after: Int?, through: Int?) = (nil, nil)

    init(db: any Database, now: Date, lanes: [any Database] = []) {
        self.db = db
        self.now = now
        self.lanes = lanes
    }

    struct Invalid: Error, CustomStringConvertible {
        var problems: [String]
        var description: String { problems.joined(separator: "; ") }
    }

    /// Where the people are, for a query that also reads their own row `c`.
    static let people: SQLRaw = SQLRaw("candidates c JOIN candidate_facts f ON f.id = c.id")

    /// The people a definition matches, with an optional consent every one of them must hold: the condition after
    /// `WHERE` for `FROM candidate_facts f` (or `FROM \(people)`).
    func condition(_ definition: SegmentDefinition, requiring consent: (ConsentPurpose, UUID?)? = nil) throws
        -> any SQLExpression
    {
        let problems = SegmentDefinition.problems(of: definition)
        guard problems.isEmpty else { throw Invalid(problems: problems) }
        var parts: [any SQLExpression] = []
        if !definition.isEmpty { parts.append(group(definition)) }
        if let consent {
            parts.append(consentState(consent.0, series: consent.1, state: .active))
        }
        return parts.isEmpty ? SQLRaw("1 = 1") : SQLList(parts, separator: SQLRaw(" AND "))
    }

    func count(_ definition: SegmentDefinition, requiring consent: (ConsentPurpose, UUID?)? = nil) async throws -> Int {
        struct Row: Decodable { var n: Int }
        guard lanes.count > 1, !db.isPostgres else {
            let condition = try condition(definition, requiring: consent)
            return try await db.sql().raw("SELECT COUNT(*) AS n FROM candidate_facts f WHERE \(condition)").first(
                decoding: Row.self)?.n ?? 0
        }
        // Lane i counts the people numbered from its share of the numbers given so far up to the next lane's; the
        // last lane also counts anyone numbered since.
        let last =
            try await db.sql().raw("SELECT COALESCE(MAX(key), 0) AS n FROM candidate_facts").first(
                decoding: Row.self)?.n ?? 0
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for (lane, db) in lanes.enumerated() {
                var query = self
                query.keys = (
                    lane == 0 ? nil : last * lane / lanes.count,
                    lane == lanes.count - 1 ? nil : last * (lane + 1) / lanes.count
                )
                let condition = try query.condition(definition, requiring: consent)
                group.addTask {
                    try await db.sql().raw(
                        "SELECT COUNT(*) AS n FROM candidate_facts f WHERE \(condition) AND \(query.inLane("f.key"))"
                    ).first(decoding: Row.self)?.n ?? 0
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// `column` (a person's number) is one of the lane's; always true outside lanes.
    private func inLane(_ column: String) -> SQLQueryString {
        let after: SQLQueryString = keys.after.map { "\(unsafeRaw: column) > \(bind: $0)" } ?? "1 = 1"
        let through: SQLQueryString = keys.through.map { "\(unsafeRaw: column) <= \(bind: $0)" } ?? "1 = 1"
        return "\(after) AND \(through)"
    }

    /// A page of matching people, in a stable order (by id) so that `after` continues where a page ended.
    func page(
        _ definition: SegmentDefinition, requiring consent: (ConsentPurpose, UUID?)? = nil, after: UUID? = nil,
        limit: Int
    ) async throws -> [UUID] {
        var streaming = self
        streaming.streaming = true
        let condition = try streaming.condition(definition, requiring: consent)
        let from: any SQLExpression = after.map { SQLQueryString("AND f.id > \(bind: $0)") } ?? SQLRaw("")
        struct Row: Decodable { var id: UUID }
        return try await db.sql().raw(
            "SELECT f.id AS id FROM candidate_facts f WHERE \(condition) \(from) ORDER BY f.id LIMIT \(literal: limit)"
        ).all(decoding: Row.self).map(\.id)
    }

    // MARK: - Compilation

    /// A condition answered by another table: the people for whom `condition` holds in `from`, joined on `column`.
    private struct Lookup {
        var from: SQLQueryString
        var column: String
        var condition: SQLQueryString

        var list: SQLQueryString { "SELECT \(unsafeRaw: column) FROM \(from) WHERE \(condition)" }
        /// `EXISTS (…)`: one index probe per person already selected by something else.
        var probe: SQLQueryString {
            "EXISTS (SELECT 1 FROM \(from) WHERE \(unsafeRaw: column) = f.id AND \(condition))"
        }
    }

    /// How few people a condition is likely to keep (lower: fewer), to choose where a query starts. Ranks 0–2 are
    /// the lists (conditions answered by another table). On PostgreSQL a keyword is a condition on the row (its
    /// words are in the facts), ranked as a list all the same: it comes first in an AND group and the lists
    /// after it are written as probes, which PostgreSQL turns into the same semi-joins as lists.
    private static func rank(_ field: SegmentRule.Field) -> Int {
        switch field {
        case .keywords: 0
        case .job: 1
        case .clicked, .opened: 2
        case .tag: 3
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

    /// A group's rank: an AND group's most selective member; an OR group of lists, its least selective list; an
    /// OR group with a condition on the row needs every row read, so it comes after the row's own conditions.
    private func rank(_ definition: SegmentDefinition) -> Int {
        if definition.negate { return 99 }
        let ranks = definition.rules.map { $0.negate ? 99 : Self.rank($0.field) } + definition.groups.map(rank)
        guard definition.match == .any else { return ranks.min() ?? 99 }
        let widest = ranks.max() ?? 99
        return widest <= Self.lastList ? widest : 50
    }

    /// Ranks up to this one are lists; the others are conditions on the person's row.
    private static let lastList = 2

    /// How a list is written.
    private enum Form {
        /// `f.id IN (…)`: one list built once, that people are looked up in (or the list an AND group starts from).
        case member
        /// `EXISTS (…)`: an index probe per person already chosen by something else.
        case probe
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
        // "Any of these lists" on SQLite: one list of them all, each person then looked up once, instead of a
        // lookup per list and a set to drop those found twice.
        if !probing, !self.probing, !db.isPostgres, definition.rules.count > 1, definition.groups.isEmpty {
            let lists = definition.rules.compactMap { $0.negate ? nil : sqliteList($0) }
            if lists.count == definition.rules.count {
                let union: SQLQueryString = "f.id IN (\(SQLList(lists, separator: SQLRaw(" UNION ALL "))))"
                return definition.negate ? SQLQueryString("NOT (\(union))") : SQLGroupExpression(union)
            }
        }
        // A first page on SQLite without a selective condition walks the people in id order and probes each, so it
        // stops at the page's end instead of building the list of a whole department first.
        var driverChosen =
            self.probing || (probing && streaming && !db.isPostgres && (members.first?.1 ?? 99) > Self.lastList)
        let parts: [any SQLExpression] = members.map { member, _ in
            switch member {
            case .group(let nested):
                driverChosen = true
                return group(nested)
            case .rule(let rule):
                let form: Form =
                    (self.probing || probing && driverChosen) && lookup(rule) != nil
                    ? .probe : .member
                if !rule.negate { driverChosen = true }
                return self.rule(rule, form)
            }
        }
        let joined = SQLGroupExpression(
            parts.isEmpty
                ? SQLRaw(definition.match == .all ? "1 = 1" : "1 = 0")
                : SQLList(parts, separator: SQLRaw(definition.match == .all ? " AND " : " OR ")))
        return definition.negate ? SQLQueryString("NOT \(joined)") : joined
    }

    private func rule(_ rule: SegmentRule, _ form: Form) -> any SQLExpression {
        let expression = predicate(rule, form)
        return rule.negate ? SQLQueryString("NOT (\(expression))") : SQLGroupExpression(expression)
    }

    /// The conditions answered by another table, as a `Lookup`; nil for those on the person's facts (and for
    /// keywords, a list on SQLite and the facts' search words on PostgreSQL, and series consents, always lists).
    private func lookup(_ rule: SegmentRule) -> Lookup? {
        let value = rule.value.trimmingCharacters(in: .whitespaces)
        switch rule.field {
        case .job:
            return Lookup(
                from: "applications a", column: "a.candidate_id",
                condition: "a.job_id = \(bind: UUID(uuidString: value)!)")
        case .opened, .clicked:
            let since = now - Double(Int(value)!) * 86_400
            return Lookup(
                from: "campaign_events e", column: "e.candidate_id",
                condition: "e.kind = \(bind: rule.field == .opened ? "open" : "click") AND e.at >= \(bind: since)")
        default: return nil
        }
    }

    /// On SQLite, the people a rule holds for as a list of ids, when it is one (it looks into another table).
    private func sqliteList(_ rule: SegmentRule) -> SQLQueryString? {
        if let lookup = lookup(rule) { return lookup.list }
        guard rule.field == .keywords else { return nil }
        return "SELECT k.candidate_id FROM search_keys k WHERE k.key IN (\(sqliteMatches(rule.value)))"
    }

    /// On SQLite, the numbers of the people the search index finds every term of `keywords` for (the rowids of
    /// their entries, see `CreateSearchKeys`), only the lane's in a lane.
    private func sqliteMatches(_ keywords: String) -> SQLQueryString {
        let match = Text.searchTerms(keywords).map { "\"\($0)\"*" }.joined(separator: " ")
        return "SELECT rowid FROM candidate_search WHERE candidate_search MATCH \(bind: match) AND \(inLane("rowid"))"
    }

    /// `f.id IN (list)`: the engine builds the list once and looks people up in it, or, for a short list, looks
    /// each listed person up by key (PostgreSQL chooses from its estimate of the list; an array computed first was
    /// read in key order, which for tens of thousands of people is a random read each).
    private func member(_ list: SQLQueryString) -> SQLQueryString {
        "f.id IN (\(list))"
    }

    /// `list` (a list column of the facts) holds `value`.
    private func listHolds(_ list: String, _ value: SQLQueryString) -> SQLQueryString {
        let postgres = db.isPostgres
        let separator = CreateCandidateFacts.separator(postgres: postgres)
        let needle: SQLQueryString = "\(unsafeRaw: separator) || \(value) || \(unsafeRaw: separator)"
        return postgres ? "strpos(f.\(unsafeRaw: list), \(needle)) > 0" : "instr(f.\(unsafeRaw: list), \(needle)) > 0"
    }

    /// The rule as a condition that is true or false for every person, never NULL, so that NOT inverts it.
    private func predicate(_ rule: SegmentRule, _ form: Form) -> SQLQueryString {
        let value = rule.value.trimmingCharacters(in: .whitespaces)
        if let lookup = lookup(rule) {
            switch form {
            case .probe: return lookup.probe
            case .member: return member(lookup.list)
            }
        }
        switch rule.field {
        case .status:
            let current = listHolds("outcomes", "\(bind: ApplicationOutcome.active.rawValue)")
            return value == "current" ? current : "NOT \(current)"
        case .outcome:
            return listHolds("outcomes", "\(bind: value)")
        case .source:
            return listHolds("sources", "\(bind: value)")
        case .department:
            return listHolds("departments", "LOWER(\(bind: value))")
        case .tag:
            return listHolds("tags", "LOWER(\(bind: value))")
        case .stageReached:
            let kinds = StageKind.allCases.drop { $0.rawValue != value }.map {
                listHolds("stages", "\(bind: $0.rawValue)")
            }
            return "(\(SQLList(kinds, separator: SQLRaw(" OR "))))"
        case .appliedAfter:
            return "(f.last_applied_at IS NOT NULL AND f.last_applied_at >= \(bind: SegmentDefinition.day(value)!))"
        case .appliedBefore:
            return "(f.first_applied_at IS NOT NULL AND f.first_applied_at < \(bind: SegmentDefinition.day(value)!))"
        case .keywords:
            let terms = Text.searchTerms(value)
            if db.isPostgres {
                // The search words are in the facts (see `UpdateCandidateFactsAddSearchWords`).
                let query = terms.map { "\($0):*" }.joined(separator: " & ")
                return "f.search @@ to_tsquery('simple', \(bind: query))"
            }
            // The facts are stored under the same numbers (see `UpdateCandidateFactsKeyBySearchKey`).
            return "f.key IN (\(sqliteMatches(value)))"
        case .location:
            return "f.places LIKE \(bind: "%" + value.lowercased() + "%")"
        case .language:
            return "f.language = \(bind: value)"
        case .activeAfter:
            return "f.active_at >= \(bind: SegmentDefinition.day(value)!)"
        case .activeBefore:
            return "f.active_at < \(bind: SegmentDefinition.day(value)!)"
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
        let actions = SQLList(Self.actions(purpose, state).map { SQLBind($0.rawValue) })
        guard let series else {
            let column: SQLQueryString = "f.\(unsafeRaw: CreateCandidateFacts.consentColumn(purpose))"
            if state == .none { return "\(column) IS NULL" }
            // `IS TRUE`, never NULL: without a consent, false before any comparison (COALESCE compared '' with
            // each action, for half of the people of a pool).
            return actions.expressions.isEmpty ? "1 = 0" : "(\(column) IN (\(actions))) IS TRUE"
        }
        let seriesKeys = SQLList(["", series.lowercasedString].map { SQLBind($0) })
        let scope: SQLQueryString = "s.purpose = \(bind: purpose.rawValue) AND s.series IN (\(seriesKeys))"
        if state == .none {
            return "f.id NOT IN (SELECT s.candidate_id FROM consent_states s WHERE \(scope))"
        }
        guard !actions.expressions.isEmpty else { return "1 = 0" }
        let latest: SQLQueryString = """
             AND NOT EXISTS (SELECT 1 FROM consent_states s2 WHERE s2.candidate_id = s.candidate_id \
            AND s2.purpose = s.purpose AND s2.series IN (\(seriesKeys)) AND s2.at > s.at)
            """
        return
            "f.id IN (SELECT s.candidate_id FROM consent_states s WHERE \(scope) AND s.action IN (\(actions))\(latest))"
    }
}

extension Application {
    /// On SQLite, a database handle per event loop: each loop has a connection of its own, so queries on two of them
    /// run on two cores (`SegmentQuery.lanes`). Empty on PostgreSQL, whose parallel workers split a scan already.
    /// Only for a caller that holds no connection (not inside a transaction): a lane waits for its loop's connection.
    var sqliteLanes: [any Database] {
        guard !db.isPostgres else { return [] }
        return eventLoopGroup.makeIterator().compactMap { databases.database(.sqlite, logger: logger, on: $0) }
    }
}

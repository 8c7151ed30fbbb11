import Fluent
import Vapor
import VivierCore

/// Saved segments: a builder of conditions in up to three groups, a live count with a sample of the people it
/// matches, and how many of them each consent lets Vivier write to.
struct SegmentsController {
    static let maxRules = 40
    static let groupCount = 3

    struct ListRow: Encodable {
        var url: String
        var name: String
        var people: Int
        var updated: String
    }

    struct ListContent: Encodable {
        var rows: [ListRow]
        var hasRows: Bool
    }

    @Sendable func list(req: Request) async throws -> Response {
        let query = SegmentQuery(db: req.db, now: req.now, lanes: req.application.sqliteLanes)
        var rows: [ListRow] = []
        for segment in try await Segment.query(on: req.db).sort(\.$name).all() {
            rows.append(
                ListRow(
                    url: SiteURL.segment(try segment.requireID()), name: segment.name,
                    people: (try? await query.count(segment.definition)) ?? 0,
                    updated: Dates.day(segment.updatedAt ?? segment.createdAt, req.language)))
        }
        return try await req.page(
            "app/segments", title: req.t("segments.title"), ListContent(rows: rows, hasRows: !rows.isEmpty))
    }

    // MARK: - Builder

    struct RuleRow: Encodable {
        var index: Int
        var groups: [Choice]
        var negate: Bool
        var fields: [Choice]
        var value: String
        var options: [Choice]
        var list: String
        /// Fields with a closed set of values get a `<select>` of them instead of a text box.
        var enumerated: Bool
        var choices: [Choice]
    }

    struct GroupRow: Encodable {
        var number: Int
        var label: String
        var match: [Choice]
        var negate: Bool
    }

    struct ValueList: Encodable {
        var id: String
        var options: [Choice]
        var enumerated: Bool
    }

    static let enumerated: Set<SegmentRule.Field> = [
        .status, .outcome, .stageReached, .job, .language, .source, .consent,
    ]

    struct Preview: Encodable {
        var count: Int
        var consents: [Choice]
        var sample: [Choice]
        var hasSample: Bool
        var problems: [String]
        var hasProblems: Bool
    }

    struct BuilderContent: Encodable {
        var action: String
        var deleteAction: String?
        var name: String
        var nameError: String?
        var match: [Choice]
        var rules: [RuleRow]
        var groups: [GroupRow]
        var lists: [ValueList]
        var preview: Preview
        var blockKey: String?
    }

    @Sendable func new(req: Request) async throws -> Response {
        try await builder(req, segment: nil, name: "", definition: SegmentDefinition())
    }

    @Sendable func edit(req: Request) async throws -> Response {
        let segment = try await find(req)
        return try await builder(req, segment: segment, name: segment.name, definition: segment.definition)
    }

    private func find(_ req: Request) async throws -> Segment {
        guard let id = req.parameters.get("id", as: UUID.self), let segment = try await Segment.find(id, on: req.db)
        else { throw Abort(.notFound) }
        return segment
    }

    private func builder(
        _ req: Request, segment: Segment?, name: String, definition: SegmentDefinition, nameError: String? = nil,
        status: HTTPStatus = .ok
    ) async throws -> Response {
        let action = segment.flatMap { $0.id.map(SiteURL.segment) } ?? SiteURL.segments
        let lists = try await lists(req)
        return try await req.page(
            "app/segment", title: segment?.name ?? req.t("segments.new"), status: status,
            BuilderContent(
                action: action, deleteAction: segment == nil ? nil : action + "/delete", name: name,
                nameError: nameError, match: matchChoices(definition.match, req),
                rules: rows(definition, lists: lists, req),
                groups: (1...Self.groupCount).map { number in
                    let group = definition.groups.count >= number ? definition.groups[number - 1] : SegmentDefinition()
                    return GroupRow(
                        number: number, label: String(format: req.t("segments.group_n"), number),
                        match: matchChoices(group.match, req), negate: group.negate)
                },
                lists: lists, preview: try await preview(definition, req),
                blockKey: segment.map(CampaignContent.key)))
    }

    private func matchChoices(_ match: SegmentDefinition.Match, _ req: Request) -> [Choice] {
        [
            Choice(value: "all", label: req.t("segments.match_all"), selected: match == .all),
            Choice(value: "any", label: req.t("segments.match_any"), selected: match == .any),
        ]
    }

    /// The rules of the definition (the top level is group 0), then blank rows to fill.
    private func rows(_ definition: SegmentDefinition, lists: [ValueList], _ req: Request) -> [RuleRow] {
        var placed: [(Int, SegmentRule?)] = definition.rules.map { (0, $0) }
        for (index, group) in definition.groups.prefix(Self.groupCount).enumerated() {
            placed += group.rules.map { (index + 1, $0) }
        }
        placed += Array(repeating: (0, nil), count: placed.isEmpty ? 3 : 1)
        return placed.prefix(Self.maxRules).enumerated().map { index, item in
            let (group, rule) = item
            let field = rule?.field
            return RuleRow(
                index: index,
                groups: (0...Self.groupCount).map {
                    Choice(
                        value: String($0),
                        label: $0 == 0 ? req.t("segments.group_main") : String(format: req.t("segments.group_n"), $0),
                        selected: $0 == group)
                },
                negate: rule?.negate ?? false,
                fields: [Choice(value: "", label: req.t("segments.field_choose"), selected: field == nil)]
                    + SegmentRule.Field.allCases.map {
                        Choice(value: $0.rawValue, label: req.t("segments.field.\($0.rawValue)"), selected: $0 == field)
                    },
                value: rule?.value ?? "",
                options: SegmentRule.ConsentStateName.allCases.map {
                    Choice(
                        value: $0.rawValue, label: req.t("segments.consent.\($0.rawValue)"),
                        selected: rule?.option == $0.rawValue)
                },
                list: field.map { "values-\($0.rawValue)" } ?? "",
                enumerated: field.map(Self.enumerated.contains) ?? false,
                choices: (lists.first { $0.id == "values-\(field?.rawValue ?? "")" }?.options ?? []).map {
                    Choice(value: $0.value, label: $0.label, selected: $0.value == rule?.value)
                })
        }
    }

    /// Suggestions for each field's value (`<datalist>`): what the database holds, with readable labels.
    private func lists(_ req: Request) async throws -> [ValueList] {
        let jobs = try await Job.query(on: req.db).sort(\.$title).all()
        let tags = try await Tag.query(on: req.db).sort(\.$name).all()
        let series = try await NewsletterSeries.query(on: req.db).sort(\.$name).all()
        func list(_ field: SegmentRule.Field, _ options: [(String, String)]) -> ValueList {
            ValueList(
                id: "values-\(field.rawValue)",
                options: options.map { Choice(value: $0.0, label: $0.1, selected: false) },
                enumerated: Self.enumerated.contains(field))
        }
        return [
            list(.status, [("current", req.t("segments.status.current")), ("past", req.t("segments.status.past"))]),
            list(.outcome, ApplicationOutcome.allCases.map { ($0.rawValue, req.t("outcome.\($0.rawValue)")) }),
            list(.stageReached, StageKind.allCases.map { ($0.rawValue, req.t("segments.stage.\($0.rawValue)")) }),
            list(.job, jobs.compactMap { job in job.id.map { ($0.lowercasedString, job.title) } }),
            list(.department, Array(Set(jobs.map(\.department))).sorted().map { ($0, $0) }),
            list(.location, Array(Set(jobs.map(\.location))).sorted().map { ($0, $0) }),
            list(.tag, tags.map { ($0.name, $0.name) }),
            list(.language, Language.allCases.map { ($0.rawValue, req.t("language.\($0.rawValue)")) }),
            list(.source, JobApplication.Source.allCases.map { ($0.rawValue, req.t("source.\($0.rawValue)")) }),
            list(.opened, [("30", "30"), ("90", "90"), ("365", "365")]),
            list(.clicked, [("30", "30"), ("90", "90"), ("365", "365")]),
            list(
                .consent,
                [ConsentPurpose.newsletter, .jobAlerts, .talentPool, .partnerSharing].map {
                    ($0.rawValue, req.t("consent.\($0.rawValue)"))
                }
                    + series.compactMap { item in
                        item.id.map {
                            (
                                "newsletter:\($0.lowercasedString)",
                                "\(req.t("consent.newsletter")) · \(item.name)"
                            )
                        }
                    }),
        ]
    }

    /// The count, the people each consent reaches, and the first ten people.
    private func preview(_ definition: SegmentDefinition, _ req: Request) async throws -> Preview {
        let problems = SegmentDefinition.problems(of: definition)
        guard problems.isEmpty else {
            return Preview(count: 0, consents: [], sample: [], hasSample: false, problems: problems, hasProblems: true)
        }
        let query = SegmentQuery(db: req.db, now: req.now, lanes: req.application.sqliteLanes)
        var consents: [Choice] = []
        for purpose in [ConsentPurpose.newsletter, .jobAlerts, .talentPool] {
            consents.append(
                Choice(
                    value: String(try await query.count(definition, requiring: (purpose, nil))),
                    label: req.t("consent.\(purpose.rawValue)"), selected: false))
        }
        let ids = try await query.page(definition, limit: 10)
        let people = try await Candidate.query(on: req.db).filter(\.$id ~~ ids).sort(\.$lastName).all()
        return Preview(
            count: try await query.count(definition), consents: consents,
            sample: people.map {
                Choice(
                    value: SiteURL.candidate(try! $0.requireID()), label: "\($0.fullName) · \($0.email)",
                    selected: false)
            }, hasSample: !people.isEmpty, problems: [], hasProblems: false)
    }

    // MARK: - Saving

    /// Reads the builder's flat fields (`field_3`, `group_3`, `group_match_2`…) into a definition.
    static func definition(from form: [String: String]) -> SegmentDefinition {
        var root = SegmentDefinition(match: form["match"] == "any" ? .any : .all)
        var groups = (1...groupCount).map { number in
            SegmentDefinition(
                match: form["group_match_\(number)"] == "any" ? .any : .all, negate: form["group_not_\(number)"] != nil)
        }
        for index in 0..<maxRules {
            guard let raw = form["field_\(index)"], let field = SegmentRule.Field(rawValue: raw) else { continue }
            let rule = SegmentRule(
                field: field, negate: form["not_\(index)"] != nil,
                value: String((form["value_\(index)"] ?? "").trimmingCharacters(in: .whitespaces).prefix(200)),
                option: field == .consent ? form["option_\(index)"] ?? "" : "")
            let group = Int(form["group_\(index)"] ?? "0") ?? 0
            if (1...groupCount).contains(group) {
                groups[group - 1].rules.append(rule)
            } else {
                root.rules.append(rule)
            }
        }
        // Empty groups are dropped; the others keep their number's place.
        while let last = groups.last, last.rules.isEmpty { groups.removeLast() }
        root.groups = groups
        return root
    }

    @Sendable func previewFragment(req: Request) async throws -> Response {
        let form = try req.content.decode([String: String].self)
        struct Inner: Encodable { var preview: Preview }
        struct Fragment: Encodable {
            var content: Inner
            var t: [String: String]
        }
        return try await req.view.render(
            "app/segment_preview",
            Fragment(
                content: Inner(preview: try await preview(Self.definition(from: form), req)),
                t: req.application.translations.table(req.language))
        ).encodeResponse(for: req).get()
    }

    @Sendable func create(req: Request) async throws -> Response {
        try await save(req, segment: nil)
    }

    @Sendable func update(req: Request) async throws -> Response {
        try await save(req, segment: try await find(req))
    }

    private func save(_ req: Request, segment: Segment?) async throws -> Response {
        let form = try req.content.decode([String: String].self)
        let definition = Self.definition(from: form)
        let name = (form["name"] ?? "").trimmed
        if form["intent"] == "preview" {
            return try await builder(req, segment: segment, name: name, definition: definition)
        }
        var nameError: String?
        if name.isEmpty || name.count > 120 { nameError = req.t("error.required") }
        if nameError == nil,
            try await Segment.query(on: req.db).filter(\.$name == name).filter(\.$id != (segment?.id ?? UUID())).count()
                > 0
        {
            nameError = req.t("segments.error_exists")
        }
        guard nameError == nil, SegmentDefinition.problems(of: definition).isEmpty else {
            return try await builder(
                req, segment: segment, name: name, definition: definition, nameError: nameError,
                status: .unprocessableEntity)
        }
        let saved = try segment ?? Segment(name: name, definition: definition, at: req.now)
        saved.name = name
        saved.definitionJSON = try definition.json()
        try await saved.save(on: req.db)
        return req.redirect(to: SiteURL.segment(try saved.requireID()), flash: "flash.segment_saved")
    }

    @Sendable func delete(req: Request) async throws -> Response {
        let segment = try await find(req)
        // A campaign still to send, or a newsletter, would otherwise fall back to everyone with the consent.
        let inUse =
            try await Campaign.query(on: req.db).filter(\.$segment.$id == segment.requireID())
            .filter(\.$status ~~ [.draft, .scheduled, .sending, .paused]).count()
            + NewsletterSeries.query(on: req.db).filter(\.$segment.$id == segment.requireID()).count()
        guard inUse == 0 else {
            return req.redirect(
                to: SiteURL.segment(try segment.requireID()), flash: "flash.segment_in_use", kind: .error)
        }
        try await segment.delete(on: req.db)
        return req.redirect(to: SiteURL.segments, flash: "flash.segment_deleted")
    }
}

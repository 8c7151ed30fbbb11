import Foundation

/// What a person may agree to, each separately.
public enum ConsentPurpose: String, Codable, CaseIterable, Sendable {
    case talentPool = "talent_pool"
    case newsletter
    case jobAlerts = "job_alerts"
    case partnerSharing = "partner_sharing"
    /// Interview reminders by text message (only offered when a provider is configured).
    case smsReminders = "sms_reminders"
}

/// Where an application came from.
public enum ApplicationSource: String, Codable, CaseIterable, Sendable {
    case careerSite = "career_site"
    case referral, `import`, manual
    case jobBoard = "job_board"
    case api
}

/// One condition on a person. `value` says what to compare with (a job's id, a tag, a date `2026-01-31`, a number
/// of days, a consent purpose optionally followed by `:` and a newsletter series' id); `option` is the consent
/// state a consent condition asks for.
public struct SegmentRule: Codable, Sendable, Equatable {
    public enum Field: String, Codable, CaseIterable, Sendable {
        /// `current` (an application in progress) or `past` (none in progress, including people who never applied).
        case status
        /// Any application with this outcome (`hired`, `rejected`, `withdrawn`, `active`).
        case outcome
        /// Any application that reached this kind of stage or a later one.
        case stageReached = "stage_reached"
        case job, department, tag
        /// Every word found in the profile, tags, notes or CV text (prefix match, accents ignored).
        case keywords
        /// The person's location or that of a job they applied to contains this text.
        case location
        case language, source
        case appliedAfter = "applied_after"
        case appliedBefore = "applied_before"
        /// The last active contact (application, reply, click, portal visit; never an open).
        case activeAfter = "active_after"
        case activeBefore = "active_before"
        /// Opened or clicked a campaign in the last `value` days.
        case opened, clicked
        case consent
    }

    public enum ConsentStateName: String, Codable, CaseIterable, Sendable {
        /// May be contacted: confirmed by email (newsletter, job alerts) or given (the others).
        case active
        /// Given on a form, confirmation email not clicked yet.
        case pending
        case withdrawn
        /// Never asked or never answered.
        case none
    }

    public var field: Field
    public var negate: Bool = false
    public var value: String
    public var option: String = ""

    public init(field: Field, negate: Bool = false, value: String, option: String = "") {
        self.field = field
        self.negate = negate
        self.value = value
        self.option = option
    }
}

/// A segment's filter: rules and nested groups joined by AND (`all`) or OR (`any`), the whole possibly negated.
public struct SegmentDefinition: Codable, Sendable, Equatable {
    public enum Match: String, Codable, Sendable {
        case all, any
    }

    public var match: Match = .all
    public var negate: Bool = false
    public var rules: [SegmentRule] = []
    public var groups: [SegmentDefinition] = []

    public init(match: Match = .all, negate: Bool = false, rules: [SegmentRule] = [], groups: [SegmentDefinition] = [])
    {
        self.match = match
        self.negate = negate
        self.rules = rules
        self.groups = groups
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public var isEmpty: Bool { rules.isEmpty && groups.allSatisfy(\.isEmpty) }

    /// Every rule, depth first.
    public var allRules: [SegmentRule] { rules + groups.flatMap(\.allRules) }
}

extension SegmentDefinition {
    /// What is wrong with a definition, in words a recruiter can act on; empty when it can run.
    public static func problems(of definition: SegmentDefinition, depth: Int = 0) -> [String] {
        var found: [String] = []
        if depth > 3 { found.append("groups nest at most 3 deep") }
        for rule in definition.rules {
            let value = rule.value.trimmingCharacters(in: .whitespaces)
            let label = rule.field.rawValue
            switch rule.field {
            case .status where !["current", "past"].contains(value):
                found.append("\(label): choose current or past")
            case .outcome where ApplicationOutcome(rawValue: value) == nil:
                found.append("\(label): unknown outcome “\(value)”")
            case .stageReached where StageKind(rawValue: value) == nil:
                found.append("\(label): unknown stage “\(value)”")
            case .job where UUID(uuidString: value) == nil:
                found.append("\(label): choose a job")
            case .language where Language(rawValue: value) == nil:
                found.append("\(label): choose fr or en")
            case .source where ApplicationSource(rawValue: value) == nil:
                found.append("\(label): unknown source “\(value)”")
            case .appliedAfter, .appliedBefore, .activeAfter, .activeBefore:
                if day(value) == nil { found.append("\(label): write a date as 2026-01-31") }
            case .opened, .clicked:
                if !(Int(value).map { (1...3650).contains($0) } ?? false) {
                    found.append("\(label): a number of days from 1 to 3650")
                }
            case .consent:
                if consentTarget(value) == nil { found.append("\(label): unknown purpose “\(value)”") }
                if SegmentRule.ConsentStateName(rawValue: rule.option) == nil {
                    found.append("\(label): choose active, pending, withdrawn or none")
                }
            case .keywords where Text.searchTerms(value).isEmpty:
                found.append("\(label): write at least one word")
            case .department, .tag, .location:
                if value.isEmpty { found.append("\(label): write a value") }
            default:
                break
            }
        }
        return found + definition.groups.flatMap { problems(of: $0, depth: depth + 1) }
    }

    public static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1900...2200).contains(parts[0]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: parts[0], month: parts[1], day: parts[2])
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }

    public static func consentTarget(_ value: String) -> (ConsentPurpose, UUID?)? {
        let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
        guard let purpose = parts.first.flatMap(ConsentPurpose.init(rawValue:)) else { return nil }
        if parts.count == 2 {
            guard purpose == .newsletter, let series = UUID(uuidString: parts[1]) else { return nil }
            return (purpose, series)
        }
        return (purpose, nil)
    }

}

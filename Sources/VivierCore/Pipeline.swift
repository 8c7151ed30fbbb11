import Foundation

/// What a stage means, whatever a company calls it. Later features (acknowledgement next steps, interview
/// scheduling, indicators) reason on kinds, never on stage names.
public enum StageKind: String, CaseIterable, Codable, Sendable {
    case new
    case screening
    case interview
    case offer
    case hired
}

/// How an application left the pipeline without being hired. These are outcomes, not stages: the application keeps
/// the stage it reached, which is what the funnel indicators need.
public enum ApplicationOutcome: String, CaseIterable, Codable, Sendable {
    case active
    case rejected
    case withdrawn
    case hired
}

/// Why an application was rejected or withdrawn. Rejection templates are chosen per reason.
public enum ClosingReason: String, CaseIterable, Codable, Sendable {
    case profile
    case positionFilled = "position_filled"
    case afterInterview = "after_interview"
    case jobWithdrawn = "job_withdrawn"
    case candidateWithdrew = "candidate_withdrew"
    case unresponsive

    /// Reasons a recruiter may pick when rejecting.
    public static let rejection: [ClosingReason] = [
        .profile, .positionFilled, .afterInterview, .jobWithdrawn, .unresponsive,
    ]
    /// Reasons that describe a withdrawal by the candidate.
    public static let withdrawal: [ClosingReason] = [.candidateWithdrew]
}

/// A stage of a pipeline template, named in both languages.
public struct StageTemplate: Codable, Equatable, Sendable {
    public var nameFR: String
    public var nameEN: String
    public var kind: StageKind

    public init(nameFR: String, nameEN: String, kind: StageKind) {
        self.nameFR = nameFR
        self.nameEN = nameEN
        self.kind = kind
    }

    /// The template a fresh installation starts from; admins edit it afterwards.
    public static let defaultPipeline: [StageTemplate] = [
        .init(nameFR: "Nouvelle candidature", nameEN: "New application", kind: .new),
        .init(nameFR: "Présélection", nameEN: "Screening", kind: .screening),
        .init(nameFR: "Entretien", nameEN: "Interview", kind: .interview),
        .init(nameFR: "Entretien final", nameEN: "Final interview", kind: .interview),
        .init(nameFR: "Offre", nameEN: "Offer", kind: .offer),
        .init(nameFR: "Embauché", nameEN: "Hired", kind: .hired),
    ]

    /// Checks that a pipeline can work: it starts with a `new` stage, ends with a `hired` stage and has names.
    public static func validate(_ stages: [StageTemplate]) -> String? {
        guard stages.count >= 2 else { return "pipeline.too_short" }
        guard stages.first?.kind == .new else { return "pipeline.first_must_be_new" }
        guard stages.last?.kind == .hired else { return "pipeline.last_must_be_hired" }
        guard stages.filter({ $0.kind == .new }).count == 1, stages.filter({ $0.kind == .hired }).count == 1 else {
            return "pipeline.one_new_one_hired"
        }
        guard stages.allSatisfy({ !$0.nameFR.isBlank && !$0.nameEN.isBlank }) else { return "pipeline.names_required" }
        return nil
    }
}

extension String {
    /// True when the string holds nothing but whitespace.
    public var isBlank: Bool { allSatisfy(\.isWhitespace) }

    /// The string without surrounding whitespace.
    public var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }

    /// The string, or nil when empty: Leaf's `#if` takes any string, the empty one too, as true.
    public var nonEmpty: String? { isEmpty ? nil : self }
}

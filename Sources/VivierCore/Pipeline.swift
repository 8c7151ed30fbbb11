import Foundation
import Synchronization

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

    /// Every occurrence of `target` replaced by `replacement`, comparing UTF-8 bytes exactly (no Unicode
    /// equivalence, unlike Foundation's `replacingOccurrences`, and many times faster on a message body).
    public func replacingBytes(of target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard let first = needle.first else { return self }
        var haystack = self
        return haystack.withUTF8 { bytes -> String in
            var out: [UInt8] = []
            var copied = 0
            var index = 0
            let last = bytes.count - needle.count
            while index <= last {
                if bytes[index] == first && needle.indices.allSatisfy({ bytes[index + $0] == needle[$0] }) {
                    if out.isEmpty { out.reserveCapacity(bytes.count + 64) }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<index]))
                    out.append(contentsOf: replacement.utf8)
                    index += needle.count
                    copied = index
                } else {
                    index += 1
                }
            }
            guard copied > 0 else { return self }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied...]))
            return String(decoding: out, as: UTF8.self)
        }
    }
}

extension UUID {
    /// A version 7 UUID (RFC 9562): the time in milliseconds, a 12-bit sequence, then 62 random bits. Ids made in
    /// this process only grow (the sequence counts within a millisecond, and a clock held still, as a campaign's
    /// queueing holds it, moves on by one millisecond per 4,096 ids), so rows keyed by them are added at the end of
    /// their index instead of at a random place: queueing 100,000 messages writes a few index pages per commit
    /// instead of one per message.
    public static func timeOrdered(at date: Date) -> UUID {
        let (milliseconds, sequence) = lastTimeOrdered.withLock { last in
            let now = UInt64(max(date.timeIntervalSince1970, 0) * 1000)
            if now > last.milliseconds {
                last = (now, 0)
            } else if last.sequence < 0xFFF {
                last.sequence += 1
            } else {
                last = (last.milliseconds + 1, 0)
            }
            return last
        }
        let random = UInt64.random(in: 0...UInt64.max)
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { out in
            for index in 0..<6 { out[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * index)) }
            out[6] = 0x70 | UInt8(sequence >> 8)  // version 7
            out[7] = UInt8(truncatingIfNeeded: sequence)
            out[8] = 0x80 | UInt8(truncatingIfNeeded: random >> 58)  // variant 10
            for index in 9..<16 { out[index] = UInt8(truncatingIfNeeded: random >> (8 * (15 - index))) }
        }
        return UUID(uuid: bytes)
    }

    private static let lastTimeOrdered = Mutex<(milliseconds: UInt64, sequence: UInt16)>((0, 0))

    /// The canonical form in lower case (`uuidString.lowercased()`), written without `sprintf`: links, tokens and
    /// dedupe keys name a hundred thousand ids when a campaign is queued.
    public var lowercasedString: String { hex(dashes: true) }

    /// The canonical form in upper case, as `uuidString` writes it and SQLite stores ids, without `sprintf`.
    public var uppercasedString: String { hex(dashes: true, digits: "0123456789ABCDEF") }

    /// The 32 hexadecimal digits, no dashes.
    public var compactHex: String { hex(dashes: false) }

    private func hex(dashes: Bool, digits: StaticString = "0123456789abcdef") -> String {
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var count = 0
                for (index, byte) in bytes.enumerated() {
                    if dashes && (index == 4 || index == 6 || index == 8 || index == 10) {
                        out[count] = UInt8(ascii: "-")
                        count += 1
                    }
                    out[count] = digits.utf8Start[Int(byte >> 4)]
                    out[count + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    count += 2
                }
                return count
            }
        }
    }
}

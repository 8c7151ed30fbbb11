// libFuzzer target for the segment filter decoder: a saved segment definition (JSON, as the builder posts it and
// the database keeps it) decoded, checked, and written back. Invariants: decoding and checking never crash, even
// on deep nesting; what is written back reads back equal, with the same problems; an accepted definition has only
// dates and consent targets the SQL builder can read. Built and run by scripts/fuzz.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegment(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    guard let definition = try? JSONDecoder().decode(SegmentDefinition.self, from: bytes) else { return 0 }
    let problems = SegmentDefinition.problems(of: definition)
    guard let json = try? definition.json(),
        let again = try? JSONDecoder().decode(SegmentDefinition.self, from: Data(json.utf8))
    else { preconditionFailure("a decoded definition does not write back") }
    precondition(again == definition, "the definition changed on its way through the database")
    precondition(SegmentDefinition.problems(of: again) == problems)
    guard problems.isEmpty else { return 0 }
    for rule in definition.allRules {
        switch rule.field {
        case .appliedAfter, .appliedBefore, .activeAfter, .activeBefore:
            precondition(SegmentDefinition.day(rule.value) != nil, "an accepted date the builder cannot read")
        case .consent:
            precondition(SegmentDefinition.consentTarget(rule.value) != nil, "an accepted consent the builder cannot read")
        default: break
        }
    }
    return 0
}

// libFuzzer target for what reads untrusted bytes in VivierCore: imported CSV files (any encoding, any separator),
// uploaded CVs (format detection), the apply form's fields and the text folding behind search and slugs.
// Built and run by scripts/fuzz; a crash, a hang or an address-sanitizer report is a finding.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCore(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let table = try? CSVTable.parse(bytes) {
        precondition(table.records.allSatisfy { $0.line >= 2 }, "a record before the header")
        precondition([",", ";", "\t"].contains(table.separator))
    }
    _ = try? DocumentKind.detect(bytes, maxBytes: 1 << 20)
    let text = String(decoding: bytes, as: UTF8.self)
    let fields = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    func field(_ index: Int) -> String { index < fields.count ? fields[index] : "" }
    _ = ApplicantInput(firstName: field(0), lastName: field(1), email: field(2), phone: field(3), coverLetter: field(4))
        .errors()
    let slug = Text.slug(text)
    precondition(slug.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }, "a slug outside [a-z0-9-]")
    _ = Text.searchable(text)
    return 0
}

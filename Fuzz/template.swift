// libFuzzer target for the merge-tag renderer: a recruiter's template (subject and Markdown body with Mustache
// merge tags) checked against the fields a message offers, then rendered with every field set to a hostile value.
// The input's first line is the subject, the rest up to a NUL byte the body, what follows the NUL the merged value.
// Invariants: the checker and the renderer never crash; a template the checker accepts renders; a merged value
// never becomes markup in the HTML part (it is wrapped in a tag that must come out escaped) and never breaks the
// subject's line. Built and run by scripts/fuzz.
import Foundation

let schema = TemplateSchema([
    "candidate.first_name", "candidate.last_name", "job.title", "company.name", "portal_url", "slots[]",
    "slots[].label",
])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let source = String(decoding: bytes[..<split], as: UTF8.self)
    let value = split < bytes.count ? String(decoding: bytes[(split + 1)...], as: UTF8.self) : "<b>x</b>"
    let lines = source.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let template = MessageTemplate(subject: String(lines[0]), body: lines.count > 1 ? String(lines[1]) : "")
    guard template.problems(against: schema).isEmpty else { return 0 }
    let marked = "<zq>" + value + "</zq>"
    let context: [String: Any] = [
        "candidate": ["first_name": marked, "last_name": marked], "job": ["title": marked],
        "company": ["name": marked], "portal_url": marked, "slots": [["label": marked], ["label": marked]],
    ]
    guard let rendered = try? template.render(context) else {
        preconditionFailure("a template the checker accepted does not render")
    }
    precondition(!rendered.html.contains("<zq>"), "a merged value became markup")
    precondition(!rendered.subject.contains("\n") && !rendered.subject.contains("\r"), "a line break in the subject")
    return 0
}

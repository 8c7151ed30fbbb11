// libFuzzer target for VivierMail's parsers and encoders of outside text: the reader of incoming mail (bounces,
// replies, the local mailbox: MIME structure, transfer encodings, RFC 2047 words), the SMTP reply parser (what a
// server sends back) and the header encoder (names and subjects typed by anyone). Built and run by scripts/fuzz.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMail(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let reader = MailReader(bytes)
    for part in reader.parts { _ = part.text }
    let text = String(decoding: bytes, as: UTF8.self)
    _ = MailReader.decodeWords(text)
    _ = MailReader.fields(of: text)

    // Replies arrive in pieces: the split must not change what is read.
    var parser = SMTPReplyParser()
    parser.feed(bytes.prefix(size / 2))
    parser.feed(bytes.dropFirst(size / 2))
    while let reply = try? parser.next() {
        precondition((200...599).contains(reply.code), "a reply code outside 2xx–5xx")
    }

    // An encoded header never lets a line break or NUL of the value through, and keeps every line within 998.
    if let field = try? HeaderEncoding.field("Subject", text) {
        let lines = field.components(separatedBy: "\r\n")
        precondition(lines.allSatisfy { $0.utf8.count <= 998 }, "a header line over 998 octets")
        precondition(lines.dropFirst().allSatisfy { $0.first == " " || $0.first == "\t" }, "an unfolded line break")
        precondition(!field.utf8.contains(0), "a NUL in a header")
        precondition(!lines.contains { $0.contains("\r") || $0.contains("\n") }, "a bare CR or LF in a header")
    }
    return 0
}

// libFuzzer target for VivierMail's reader of messages that arrive from outside (bounces, replies, the local
// mailbox): MIME structure, transfer encodings, RFC 2047 words. Built and run by scripts/fuzz.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMail(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let reader = MailReader(bytes)
    for part in reader.parts { _ = part.text }
    let text = String(decoding: bytes, as: UTF8.self)
    _ = MailReader.decodeWords(text)
    _ = MailReader.fields(of: text)
    return 0
}

import Crypto
import Foundation
import Testing
import VivierCore

/// The data export's archive, read back by Python's `zipfile`.
@Suite("ZIP archives (data exports)")
struct ZipTests {
    struct Read: Decodable {
        struct Entry: Decodable {
            var name: String
            var size: Int
            var sha256: String
            var utf8: Bool
            var date: [Int]
        }
        var bad: String?
        var entries: [Entry]
    }

    @Test(.enabled(if: Peers.available)) func pythonReadsWhatWeWrite() throws {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926, "the standard check value")
        let json = Array("{\"name\": \"Hélène\"}".utf8)
        let pdf = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let when = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30 UTC
        var zip = ZipArchive()
        try zip.add("vivier-data.json", json, modified: when)
        try zip.add("files/3f2a-CV Hélène.pdf", pdf, modified: when)
        try zip.add("files/empty.txt", [], modified: when)
        let read = try JSONDecoder().decode(
            Read.self, from: Data(try Peers.run("check_zip.py", input: zip.bytes()).utf8))
        #expect(read.bad == nil)
        #expect(read.entries.map(\.name) == ["vivier-data.json", "files/3f2a-CV Hélène.pdf", "files/empty.txt"])
        #expect(read.entries.map(\.size) == [json.count, pdf.count, 0])
        #expect(read.entries[1].sha256 == SHA256.hash(data: pdf).map { String(format: "%02x", $0) }.joined())
        #expect(read.entries.filter { !$0.utf8 }.isEmpty)
        #expect(read.entries[0].date.prefix(3) == [2026, 11, 30])
    }

    @Test func namesThatWouldEscapeTheFolderAreRefused() {
        var zip = ZipArchive()
        for name in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "a\nb"] {
            #expect(throws: ZipArchive.Failure.badName(name)) { try zip.add(name, [1], modified: Date()) }
        }
    }
}

import Foundation
import Testing
import VivierCore

/// Writes a ZIP archive with stored (uncompressed) entries, optionally lying about sizes: enough to build DOCX and
/// ODT look-alikes and hostile archives in the test itself, with no binary committed.
func zip(_ entries: [(String, [UInt8])], declaredSize: Int? = nil) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16((v >> 16) & 0xFFFF) }
    for (name, data) in entries {
        let offset = out.count
        let nameBytes = Array(name.utf8)
        let size = declaredSize ?? data.count
        out +=
            le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(data.count)
            + le32(size)
        out += le16(nameBytes.count) + le16(0) + nameBytes + data
        central +=
            le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(data.count)
            + le32(size)
        central += le16(nameBytes.count) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + nameBytes
    }
    let centralOffset = out.count
    out += central
    out +=
        le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count) + le32(central.count)
        + le32(centralOffset) + le16(0)
    return out
}

@Suite("CV formats are recognised by content")
struct DocumentKindTests {
    let xml = Array("<xml/>".utf8)

    @Test func pdf_docx_odt_areRecognised() throws {
        #expect(try DocumentKind.detect(Array("%PDF-1.7\n...".utf8), maxBytes: 1000) == .pdf)
        let docx = zip([("[Content_Types].xml", xml), ("word/document.xml", xml)])
        #expect(try DocumentKind.detect(docx, maxBytes: 10_000) == .docx)
        let odt = zip([("mimetype", Array("application/vnd.oasis.opendocument.text".utf8)), ("content.xml", xml)])
        #expect(try DocumentKind.detect(odt, maxBytes: 10_000) == .odt)
    }

    @Test func hostileOrForeignFiles_areRefused() {
        #expect(throws: DocumentKind.Rejection.empty) { try DocumentKind.detect([], maxBytes: 10) }
        #expect(throws: DocumentKind.Rejection.tooLarge(limit: 10)) {
            try DocumentKind.detect(Array("%PDF-1.7 more than ten".utf8), maxBytes: 10)
        }
        #expect(throws: DocumentKind.Rejection.unsupportedType) {
            try DocumentKind.detect(Array("MZ\u{90}\u{00}".utf8), maxBytes: 100)
        }
        #expect(throws: DocumentKind.Rejection.unsupportedType) {
            try DocumentKind.detect(Array("<html><script>".utf8), maxBytes: 100)
        }
        // A spreadsheet is a ZIP too, but not a CV format we accept.
        #expect(throws: DocumentKind.Rejection.unsupportedType) {
            try DocumentKind.detect(zip([("[Content_Types].xml", xml), ("xl/workbook.xml", xml)]), maxBytes: 10_000)
        }
        // An ODT spreadsheet claims another mimetype.
        #expect(throws: DocumentKind.Rejection.unsupportedType) {
            try DocumentKind.detect(
                zip([("mimetype", Array("application/vnd.oasis.opendocument.spreadsheet".utf8)), ("content.xml", xml)]),
                maxBytes: 10_000)
        }
        // A zip bomb announces gigabytes once unpacked; it is refused without unpacking anything.
        #expect(throws: DocumentKind.Rejection.unsafeArchive) {
            try DocumentKind.detect(
                zip([("[Content_Types].xml", xml), ("word/document.xml", xml)], declaredSize: 3_000_000_000),
                maxBytes: 10_000)
        }
        // Path traversal inside the archive.
        #expect(throws: DocumentKind.Rejection.unsafeArchive) {
            try DocumentKind.detect(
                zip([("[Content_Types].xml", xml), ("word/document.xml", xml), ("../../etc/cron.d/x", xml)]),
                maxBytes: 10_000)
        }
        // Truncated archive.
        #expect(throws: DocumentKind.Rejection.unsupportedType) {
            try DocumentKind.detect(Array(zip([("word/document.xml", xml)]).prefix(30)), maxBytes: 10_000)
        }
    }
}

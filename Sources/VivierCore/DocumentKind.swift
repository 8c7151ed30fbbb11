import Foundation

/// The CV formats Vivier accepts, recognised from their bytes, never from the file name or the browser's claim
/// (ASVS 5.2.2).
public enum DocumentKind: String, Codable, CaseIterable, Sendable {
    case pdf
    case docx
    case odt

    public var mediaType: String {
        switch self {
        case .pdf: "application/pdf"
        case .docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .odt: "application/vnd.oasis.opendocument.text"
        }
    }

    public var fileExtension: String { rawValue }

    /// Why a file was refused, in terms a candidate can act on.
    public enum Rejection: Error, Equatable, Sendable {
        case empty
        case tooLarge(limit: Int)
        case unsupportedType
        case unsafeArchive
    }

    /// Largest total unpacked size accepted for DOCX/ODT: a CV is a few MB at most; more is a zip bomb (ASVS 5.2.3).
    public static let maxUnpackedBytes = 100 * 1024 * 1024
    static let maxArchiveEntries = 2_000

    /// Identifies a CV from its content. Office documents are ZIP archives: their central directory is read (not
    /// unpacked) to find the part that marks the format and to refuse bombs and path traversal.
    public static func detect(_ bytes: [UInt8], maxBytes: Int) throws(Rejection) -> DocumentKind {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        if bytes.starts(with: Array("%PDF-".utf8)) {
            return .pdf
        }
        guard bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) else { throw .unsupportedType }
        let entries = try ZipDirectory.entries(bytes)
        guard entries.count <= maxArchiveEntries,
            entries.reduce(0, { $0 + $1.uncompressedSize }) <= maxUnpackedBytes
        else { throw .unsafeArchive }
        guard entries.allSatisfy({ !$0.name.hasPrefix("/") && !$0.name.split(separator: "/").contains("..") }) else {
            throw .unsafeArchive
        }
        let names = Set(entries.map(\.name))
        if names.contains("word/document.xml") && names.contains("[Content_Types].xml") {
            return .docx
        }
        if names.contains("content.xml"), let mimetype = entries.first, mimetype.name == "mimetype",
            zipStoredText(bytes, entry: mimetype) == "application/vnd.oasis.opendocument.text"
        {
            return .odt
        }
        throw .unsupportedType
    }

    private static func zipStoredText(_ bytes: [UInt8], entry: ZipDirectory.Entry) -> String? {
        let header = entry.localHeaderOffset
        guard header + 30 <= bytes.count else { return nil }
        let nameLength = Int(bytes.le16(header + 26))
        let extraLength = Int(bytes.le16(header + 28))
        let start = header + 30 + nameLength + extraLength
        guard start + entry.uncompressedSize <= bytes.count, entry.uncompressedSize < 200 else { return nil }
        return String(decoding: bytes[start..<start + entry.uncompressedSize], as: UTF8.self)
    }
}

/// Just enough of the ZIP format (APPNOTE 4.3.12, 4.3.16) to list an archive's entries without unpacking it.
enum ZipDirectory {
    struct Entry {
        var name: String
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }

    static func entries(_ bytes: [UInt8]) throws(DocumentKind.Rejection) -> [Entry] {
        // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
        let signature: [UInt8] = [0x50, 0x4B, 0x05, 0x06]
        let lowest = max(0, bytes.count - 65_557)
        var end: Int?
        var index = bytes.count - 22
        while index >= lowest {
            if bytes[index] == signature[0] && Array(bytes[index..<index + 4]) == signature {
                end = index
                break
            }
            index -= 1
        }
        guard let end else { throw .unsupportedType }
        let count = Int(bytes.le16(end + 10))
        var offset = Int(bytes.le32(end + 16))
        guard count <= DocumentKind.maxArchiveEntries else { throw .unsafeArchive }
        var entries: [Entry] = []
        for _ in 0..<count {
            guard offset + 46 <= bytes.count, bytes.le32(offset) == 0x0201_4B50 else { throw .unsupportedType }
            let uncompressed = Int(bytes.le32(offset + 24))
            let nameLength = Int(bytes.le16(offset + 28))
            let extraLength = Int(bytes.le16(offset + 30))
            let commentLength = Int(bytes.le16(offset + 32))
            let localOffset = Int(bytes.le32(offset + 42))
            guard offset + 46 + nameLength <= bytes.count else { throw .unsupportedType }
            // ZIP64 markers mean sizes beyond 4 GiB: never a CV.
            guard uncompressed != 0xFFFF_FFFF else { throw .unsafeArchive }
            let name = String(decoding: bytes[offset + 46..<offset + 46 + nameLength], as: UTF8.self)
            entries.append(Entry(name: name, uncompressedSize: uncompressed, localHeaderOffset: localOffset))
            offset += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }
}

extension [UInt8] {
    fileprivate func le16(_ at: Int) -> UInt16 {
        guard at + 2 <= count else { return 0 }
        return UInt16(self[at]) | UInt16(self[at + 1]) << 8
    }

    fileprivate func le32(_ at: Int) -> UInt32 {
        guard at + 4 <= count else { return 0 }
        return UInt32(self[at]) | UInt32(self[at + 1]) << 8 | UInt32(self[at + 2]) << 16 | UInt32(self[at + 3]) << 24
    }
}

import Foundation

/// A ZIP archive of stored entries (PKWARE APPNOTE 6.3, no compression, UTF-8 names): enough for a person's data
/// export, a JSON document and the files they uploaded, which are compressed formats already (PDF, DOCX, ODT).
public struct ZipArchive: Sendable {
    private var entries: [UInt8] = []
    private var directory: [UInt8] = []
    private var count = 0

    public init() {}

    public enum Failure: Error, Equatable {
        case tooLarge, badName(String)
    }

    /// Adds a file. Names are relative paths with `/`; a name that climbs (`..`), starts at the root or holds a
    /// control character is refused, so the archive unpacks where the person opens it.
    public mutating func add(_ name: String, _ data: [UInt8], modified: Date) throws {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !parts.contains(where: { $0 == ".." || $0.isEmpty }),
            !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\\" })
        else { throw Failure.badName(name) }
        let nameBytes = Array(name.utf8)
        guard data.count < Int(UInt32.max), entries.count + data.count < Int(UInt32.max), count < 0xFFFF else {
            throw Failure.tooLarge
        }
        let crc = CRC32.checksum(data)
        let (time, date) = Self.dosTime(modified)
        let offset = UInt32(entries.count)
        // Local file header.
        entries += le32(0x0403_4b50) + le16(20) + le16(0x0800) + le16(0) + le16(time) + le16(date)
        entries += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count))
        entries += le16(UInt16(nameBytes.count)) + le16(0) + nameBytes + data
        // Central directory record.
        directory += le32(0x0201_4b50) + le16(0x0314) + le16(20) + le16(0x0800) + le16(0) + le16(time) + le16(date)
        directory += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count))
        directory += le16(UInt16(nameBytes.count)) + le16(0) + le16(0) + le16(0) + le16(0)
        directory += le32(0o100644 << 16) + le32(offset) + nameBytes
        count += 1
    }

    /// The archive's bytes: the entries, the central directory and its end record.
    public func bytes() -> [UInt8] {
        let end =
            le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(count)) + le16(UInt16(count))
            + le32(UInt32(directory.count)) + le32(UInt32(entries.count)) + le16(0)
        return entries + directory + end
    }

    /// MS-DOS time and date (2-second precision, 1980 to 2107), in UTC.
    static func dosTime(_ date: Date) -> (UInt16, UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = min(max((c.year ?? 1980) - 1980, 0), 127)
        let time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        let day = UInt16(year << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
        return (time, day)
    }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * UInt32($0))) & 0xff) } }
}

/// CRC-32 as ZIP and PNG use it (reflected polynomial 0xEDB88320).
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(~UInt32(0)) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
    }
}

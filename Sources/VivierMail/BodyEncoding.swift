/// Content transfer encodings (RFC 2045) with lines of at most 76 characters and CRLF line ends everywhere.
enum BodyEncoding {
    /// Text with every line ending (CRLF, lone LF, lone CR) turned into CRLF: no bare CR or LF can reach the wire.
    static func normalizedLines(_ text: String) -> [Substring] {
        let unified = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        return unified.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Quoted-printable (RFC 2045 §6.7): encoded lines of at most 76 characters, soft breaks as `=`, trailing
    /// whitespace encoded so no transport can strip it. Works on the UTF-8 bytes directly: a campaign encodes
    /// a hundred thousand bodies.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), equals = UInt8(ascii: "=")
        var output: [UInt8] = []
        var line: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 11 / 10 + 16)
        func flush(_ line: [UInt8]) {
            var column = 0
            for (index, byte) in line.enumerated() {
                let isLast = index == line.count - 1
                let literal: Bool =
                    switch byte {
                    case UInt8(ascii: " "), UInt8(ascii: "\t"): !isLast
                    case 33...60, 62...126: true
                    default: false
                    }
                let width = literal ? 1 : 3
                // Keep room for the soft-break "=" on a continued line: 75 + "=" = 76.
                if column + width > (isLast ? 76 : 75) {
                    output += [equals, cr, lf]
                    column = 0
                }
                if literal {
                    output.append(byte)
                } else {
                    output += [equals, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                }
                column += width
            }
        }
        var previous: UInt8 = 0
        var lines = 0
        for byte in text.utf8 {
            if byte == lf && previous == cr {
                previous = 0
                continue
            }
            previous = byte
            if byte == cr || byte == lf {
                if lines > 0 { output += [cr, lf] }
                flush(line)
                line.removeAll(keepingCapacity: true)
                lines += 1
                continue
            }
            line.append(byte)
        }
        if lines > 0 { output += [cr, lf] }
        flush(line)
        return String(decoding: output, as: UTF8.self)
    }

    /// Base64 in lines of 76 characters (RFC 2045 §6.8); one long line is truncated by some servers.
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity((bytes.count + 2) / 3 * 4 + bytes.count / 57 * 2 + 2)
        var column = 0
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            encoded.append(alphabet[Int(b0 >> 2)])
            encoded.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            encoded.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            encoded.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
            column += 4
            if column == 76 && index < bytes.count {
                encoded.append(contentsOf: [0x0D, 0x0A])
                column = 0
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}

/// Content transfer encodings (RFC 2045) with lines of at most 76 characters and CRLF line ends everywhere.
enum BodyEncoding {
    /// Quoted-printable (RFC 2045 §6.7): encoded lines of at most 76 characters, soft breaks as `=`, trailing
    /// whitespace encoded so no transport can strip it. Works on the UTF-8 bytes directly, into the string's own
    /// storage: a campaign encodes a hundred thousand bodies.
    static func quotedPrintable(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            // At most 3 octets per input octet, a soft break ("=" CRLF) per 25 encoded input octets, and a CR added
            // to each lone LF.
            let capacity = bytes.count * 3 + (bytes.count / 25 + 1) * 3 + bytes.count + 3
            return String(unsafeUninitializedCapacity: capacity) { output in
                let hex: StaticString = "0123456789ABCDEF"
                let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), equals = UInt8(ascii: "=")
                var written = 0, column = 0, index = 0
                while index < bytes.count {
                    let byte = bytes[index]
                    index += 1
                    // Most octets stand for themselves and fit the line whatever follows them.
                    if column < 75, byte >= 33, byte <= 126, byte != equals {
                        output[written] = byte
                        written += 1
                        column += 1
                        continue
                    }
                    // Every line ending (CRLF, lone CR, lone LF) becomes CRLF.
                    if byte == cr || byte == lf {
                        if byte == cr && index < bytes.count && bytes[index] == lf { index += 1 }
                        output[written] = cr
                        output[written + 1] = lf
                        written += 2
                        column = 0
                        continue
                    }
                    let isLast = index == bytes.count || bytes[index] == cr || bytes[index] == lf
                    let literal: Bool =
                        switch byte {
                        case UInt8(ascii: " "), UInt8(ascii: "\t"): !isLast
                        case 33...60, 62...126: true
                        default: false
                        }
                    let width = literal ? 1 : 3
                    // Keep room for the soft-break "=" on a continued line: 75 + "=" = 76.
                    if column + width > (isLast ? 76 : 75) {
                        output[written] = equals
                        output[written + 1] = cr
                        output[written + 2] = lf
                        written += 3
                        column = 0
                    }
                    if literal {
                        output[written] = byte
                    } else {
                        output[written] = equals
                        output[written + 1] = hex.utf8Start[Int(byte >> 4)]
                        output[written + 2] = hex.utf8Start[Int(byte & 0x0F)]
                    }
                    written += width
                    column += width
                }
                return written
            }
        }
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

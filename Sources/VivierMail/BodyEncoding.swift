/// Content transfer encodings (RFC 2045) with lines of at most 76 characters and CRLF line ends everywhere.
enum BodyEncoding {
    /// Quoted-printable (RFC 2045 §6.7): encoded lines of at most 76 characters, soft breaks as `=`, trailing
    /// whitespace encoded so no transport can strip it. Works on the UTF-8 bytes directly: a campaign encodes
    /// a hundred thousand bodies.
    static func quotedPrintable(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            let hex: StaticString = "0123456789ABCDEF"
            let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n"), equals = UInt8(ascii: "=")
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count * 11 / 10 + 16)
            // One line of the text (without its line ending), encoded and soft-broken.
            func encode(_ start: Int, _ end: Int) {
                var column = 0
                var index = start
                while index < end {
                    let byte = bytes[index]
                    let isLast = index == end - 1
                    let literal: Bool =
                        switch byte {
                        case UInt8(ascii: " "), UInt8(ascii: "\t"): !isLast
                        case 33...60, 62...126: true
                        default: false
                        }
                    let width = literal ? 1 : 3
                    // Keep room for the soft-break "=" on a continued line: 75 + "=" = 76.
                    if column + width > (isLast ? 76 : 75) {
                        output.append(equals)
                        output.append(cr)
                        output.append(lf)
                        column = 0
                    }
                    if literal {
                        output.append(byte)
                    } else {
                        output.append(equals)
                        output.append(hex.utf8Start[Int(byte >> 4)])
                        output.append(hex.utf8Start[Int(byte & 0x0F)])
                    }
                    column += width
                    index += 1
                }
            }
            // Every line ending (CRLF, lone CR, lone LF) becomes CRLF.
            var lineStart = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                guard byte == cr || byte == lf else {
                    index += 1
                    continue
                }
                encode(lineStart, index)
                output.append(cr)
                output.append(lf)
                index += byte == cr && index + 1 < bytes.count && bytes[index + 1] == lf ? 2 : 1
                lineStart = index
            }
            encode(lineStart, bytes.count)
            return String(decoding: output, as: UTF8.self)
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

/// Header values as RFC 5322 and RFC 2047 want them: ASCII kept readable, anything else as encoded-words that each
/// hold whole characters and are at most 75 characters long, lines folded at whitespace under 78 characters.
/// Lengths are counted in octets, as the line limits are (RFC 5322 §2.1.1).
enum HeaderEncoding {
    /// Target length of a header line, excluding CRLF (RFC 5322 §2.1.1 "SHOULD be no more than 78").
    static let softLimit = 76
    /// Hard limit of a line, excluding CRLF (RFC 5322 §2.1.1 "MUST be no more than 998").
    static let hardLimit = 998

    /// One complete header field, `Name: value`, folded, without the final CRLF. `unstructured` values (Subject)
    /// are encoded when they contain non-ASCII text.
    static func field(_ name: String, _ value: String, encode: Bool = true) throws(MailError) -> String {
        guard !name.hasLineBreakOrNUL, !value.hasLineBreakOrNUL else { throw .forbiddenCharacter(field: name) }
        let prefix = "\(name): "
        if encode && !value.isPrintableASCII {
            return prefix
                + encodedWords(value, firstLineBudget: softLimit - prefix.utf8.count).joined(separator: "\r\n ")
        }
        let words = value.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        return try fold(prefix, words: words.map { String(decoding: $0, as: UTF8.self) }, field: name)
    }

    /// An address list header (`From`, `To`, `Reply-To`), folded between mailboxes.
    static func addressField(_ name: String, _ addresses: [MailAddress], utf8Allowed: Bool) throws(MailError) -> String
    {
        let prefix = "\(name): "
        var lines: [String] = []
        var line = prefix
        for (index, mailbox) in addresses.enumerated() {
            let rendered = mailboxText(mailbox, utf8Allowed: utf8Allowed, firstLineBudget: softLimit - line.utf8.count)
            let piece = rendered + (index < addresses.count - 1 ? "," : "")
            if line.utf8.count + piece.utf8.count > softLimit && line != prefix {
                lines.append(line)
                line = " "
            }
            line += piece + (index < addresses.count - 1 ? " " : "")
        }
        lines.append(line.hasSuffix(" ") && line != " " ? String(line.dropLast()) : line)
        // Each physical line (a mailbox folded before its address holds CRLFs) within the hard limit, in octets.
        for line in lines {
            var length = 0
            for byte in line.utf8 {
                length = byte == 0x0A ? 0 : byte == 0x0D ? length : length + 1
                if length > hardLimit { throw .lineTooLong(field: name) }
            }
        }
        return lines.joined(separator: "\r\n")
    }

    /// `Name <address>`, the name quoted or encoded as needed, folded before the address when the line would be
    /// too long.
    static func mailboxText(_ mailbox: MailAddress, utf8Allowed: Bool, firstLineBudget: Int) -> String {
        guard let name = mailbox.name else { return mailbox.address }
        let pieces: [String]
        if name.isPrintableASCII || utf8Allowed {
            let atext = name.utf8.allSatisfy { Self.phraseOctets[Int($0)] }
            pieces = [
                atext
                    ? name
                    : "\""
                        + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                        + "\""
            ]
        } else {
            pieces = encodedWords(name, firstLineBudget: max(firstLineBudget, 24))
        }
        let display = pieces.joined(separator: "\r\n ")
        // The length of the line the address would join: the display name's last line.
        let lastLineLength =
            pieces.count > 1
            ? 1 + pieces[pieces.count - 1].utf8.count : softLimit - firstLineBudget + pieces[0].utf8.count
        let address = "<\(mailbox.address)>"
        return display + (lastLineLength + 1 + address.utf8.count > softLimit ? "\r\n " : " ") + address
    }

    /// The octets a display name may hold unquoted: RFC 5322 atext and spaces.
    private static let phraseOctets = octetTable(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !#$%&'*+-/=?^_`{|}~")

    /// Folds ASCII words onto lines of at most `softLimit` octets; a single word that would exceed the hard
    /// limit cannot be sent. Never folds right after the colon.
    static func fold(_ prefix: String, words: [String], field: String) throws(MailError) -> String {
        var lines: [String] = []
        var line = prefix + (words.first ?? "")
        for word in words.dropFirst() {
            if line.utf8.count + 1 + word.utf8.count > softLimit && line.utf8.count > prefix.utf8.count {
                lines.append(line)
                line = " " + word
            } else {
                line += " " + word
            }
        }
        lines.append(line)
        guard lines.allSatisfy({ $0.utf8.count <= hardLimit }) else { throw .lineTooLong(field: field) }
        return lines.joined(separator: "\r\n")
    }

    /// RFC 2047 Q-encoded words (`=?utf-8?q?...?=`) covering `text`, each at most 75 characters and never splitting
    /// a character's bytes (each word is valid UTF-8 alone, as §5 asks); the first word also fits `firstLineBudget`.
    /// Read byte by byte, a character being a lead byte and its continuation bytes: names are encoded in every
    /// message of a campaign.
    static func encodedWords(_ text: String, firstLineBudget: Int) -> [String] {
        let open = Array("=?utf-8?q?".utf8), close = Array("?=".utf8)
        var budget = min(75, max(firstLineBudget, open.count + close.count + 12)) - open.count - close.count
        var words: [String] = []
        var word = open  // the word being written, from its opening
        word.reserveCapacity(75)
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            while start < bytes.count {
                var end = start + 1
                while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
                // A character of several octets is encoded whole; an ASCII one may stand for itself.
                let width = end - start > 1 ? 3 * (end - start) : qPlain[Int(bytes[start])] ? 1 : 3
                if word.count - open.count + width > budget && word.count > open.count {
                    words.append(String(decoding: word + close, as: UTF8.self))
                    word.removeSubrange(open.count...)
                    budget = min(75, softLimit - 1) - open.count - close.count
                }
                for index in start..<end { qEncode(bytes[index], into: &word) }
                start = end
            }
        }
        if word.count > open.count || words.isEmpty { words.append(String(decoding: word + close, as: UTF8.self)) }
        return words
    }

    /// Q encoding of one octet, with the character set RFC 2047 §5(3) allows in a phrase, so the same words are
    /// valid in Subject and in display names.
    static func qEncode(_ byte: UInt8, into output: inout [UInt8]) {
        if byte == UInt8(ascii: " ") {
            output.append(UInt8(ascii: "_"))
        } else if qPlain[Int(byte)] {
            output.append(byte)
        } else {
            output.append(UInt8(ascii: "="))
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
        }
    }

    /// The octets a Q-encoded word carries as one character: themselves, and the space (as "_").
    private static let qPlain = octetTable("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/ ")

    /// A table of the 256 octets, true for those of `members`: looked up once per octet of every name.
    static func octetTable(_ members: String) -> [Bool] {
        var table = [Bool](repeating: false, count: 256)
        for byte in members.utf8 { table[Int(byte)] = true }
        return table
    }

    static func hex(_ byte: UInt8) -> String {
        String(decoding: [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]], as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
}

extension String {
    /// Printable ASCII and spaces only: safe to put in a header as is.
    var isPrintableASCII: Bool { utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }
}

import Foundation

/// Reads messages back (the Maildir viewer, later inbound replies and bounces): header fields unfolded and decoded
/// (RFC 2047), MIME parts walked, transfer encodings undone. Tolerant: a part it cannot read is skipped.
public struct MailReader: Sendable {
    public struct Part: Sendable {
        public var contentType: String
        public var headers: [(String, String)]
        public var body: [UInt8]

        /// The body as text, transfer encoding undone, assuming UTF-8.
        public var text: String {
            let encoding = headers.first { $0.0.lowercased() == "content-transfer-encoding" }?.1.lowercased()
                .trimmingCharacters(in: .whitespaces)
            switch encoding {
            case "quoted-printable": return String(decoding: MailReader.decodeQuotedPrintable(body), as: UTF8.self)
            case "base64":
                let compact = String(decoding: body, as: UTF8.self).filter { !$0.isWhitespace }
                return Data(base64Encoded: compact).map { String(decoding: $0, as: UTF8.self) } ?? ""
            default: return String(decoding: body, as: UTF8.self)
            }
        }
    }

    public let headers: [(String, String)]
    public let parts: [Part]

    public init(_ raw: [UInt8]) {
        let (headers, body) = Self.split(raw)
        self.headers = headers
        self.parts = Self.leafParts(headers: headers, body: body, depth: 0)
    }

    /// A header's decoded value (the first instance).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }.map { Self.decodeWords($0.1) }
    }

    /// The first part of the given type (`text/plain`, `text/html`).
    public func part(_ type: String) -> Part? { parts.first { $0.contentType == type } }

    static func split(_ raw: [UInt8]) -> ([(String, String)], [UInt8]) {
        let text = String(decoding: raw, as: UTF8.self)
        let separator = text.range(of: "\r\n\r\n") ?? text.range(of: "\n\n")
        let headerText = separator.map { String(text[..<$0.lowerBound]) } ?? text
        let body = separator.map { Array(text[$0.upperBound...].utf8) } ?? []
        var headers: [(String, String)] = []
        for line in headerText.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        {
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append(
                    (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return (headers, body)
    }

    static func leafParts(headers: [(String, String)], body: [UInt8], depth: Int) -> [Part] {
        let contentType = headers.first { $0.0.lowercased() == "content-type" }?.1 ?? "text/plain"
        let type =
            contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            ?? "text/plain"
        guard type.hasPrefix("multipart/"), depth < 10, let boundary = parameter("boundary", in: contentType) else {
            return [Part(contentType: type, headers: headers, body: body)]
        }
        // A newline in front, so a boundary on the very first line is found like the others.
        let text = "\n" + String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        var parts: [Part] = []
        for chunk in text.components(separatedBy: "\n--\(boundary)").dropFirst() where !chunk.hasPrefix("--") {
            let content = chunk.drop { $0 != "\n" }.dropFirst()
            let (partHeaders, partBody) = split(Array(content.replacingOccurrences(of: "\n", with: "\r\n").utf8))
            parts += leafParts(headers: partHeaders, body: partBody, depth: depth + 1)
        }
        return parts
    }

    /// `Name: value` lines of a text block (a delivery-status report), names lowercased, the first of each kept.
    public static func fields(of text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            if fields[name] == nil {
                fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return fields
    }

    /// A parameter of a structured header value (`boundary`, `filename`), unquoted.
    public static func parameter(_ name: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == name {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    static func decodeQuotedPrintable(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "="), index + 1 < bytes.count {
                if bytes[index + 1] == 0x0D, index + 2 < bytes.count, bytes[index + 2] == 0x0A {
                    index += 3
                    continue
                }
                if bytes[index + 1] == 0x0A {
                    index += 2
                    continue
                }
                if index + 2 < bytes.count,
                    let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
                {
                    out.append(value)
                    index += 3
                    continue
                }
            }
            out.append(byte)
            index += 1
        }
        return out
    }

    /// Decodes RFC 2047 encoded-words (Q and B, any case); adjacent words join without the space between them.
    public static func decodeWords(_ value: String) -> String {
        var output = ""
        var rest = value[...]
        var lastWasWord = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            guard let parsed = parseWord(rest[start.lowerBound...]) else {
                output += before + "=?"
                rest = rest[start.upperBound...]
                lastWasWord = false
                continue
            }
            if !(lastWasWord && before.allSatisfy(\.isWhitespace)) { output += before }
            output += parsed.text
            rest = parsed.rest
            lastWasWord = true
        }
        return output + rest
    }

    private static func parseWord(_ text: Substring) -> (text: String, rest: Substring)? {
        let parts = text.dropFirst(2).split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[3].hasPrefix("="), ["q", "b"].contains(parts[1].lowercased()) else { return nil }
        let payload = parts[2]
        var bytes: [UInt8]
        if parts[1].lowercased() == "b" {
            guard let data = Data(base64Encoded: String(payload)) else { return nil }
            bytes = Array(data)
        } else {
            bytes = decodeQuotedPrintable(Array(payload.replacingOccurrences(of: "_", with: " ").utf8))
        }
        if parts[0].lowercased().hasPrefix("iso-8859-1") || parts[0].lowercased().hasPrefix("latin1") {
            bytes = Array(String(bytes.map { Character(UnicodeScalar($0)) }).utf8)
        }
        return (String(decoding: bytes, as: UTF8.self), parts[3].dropFirst())
    }
}

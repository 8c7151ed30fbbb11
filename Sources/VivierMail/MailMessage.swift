import Foundation

/// A file attached to a message (a forwarded CV, an `.ics` invitation).
public struct Attachment: Sendable {
    public var filename: String
    public var mediaType: String
    public var bytes: [UInt8]

    public init(filename: String, mediaType: String, bytes: [UInt8]) {
        self.filename = filename
        self.mediaType = mediaType
        self.bytes = bytes
    }
}

/// An email to build: headers by meaning, bodies as text. `render()` produces the exact bytes to send — CRLF line
/// ends, lines of at most 76 (bodies) or 998 (headers) characters, non-ASCII headers as RFC 2047 words — and refuses
/// anything that could inject a header.
public struct MailMessage: Sendable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var replyTo: MailAddress?
    public var subject: String
    public var text: String
    public var html: String?
    /// An iCalendar object (`ICalendar.render()`) offered as the `text/calendar` alternative, so calendars show
    /// accept/decline buttons, and also attached as `invitation.ics` for clients that only read attachments.
    public var calendar: (method: String, body: String)?
    public var attachments: [Attachment]
    /// The HTTPS one-click URL and, optionally, a mailto address for `List-Unsubscribe` (RFC 2369, RFC 8058).
    public var unsubscribe: (https: String, mailto: String?)?
    /// Extra headers (`Auto-Submitted`, `X-Vivier-Message`): validated like every other header.
    public var extraHeaders: [(String, String)]
    public var date: Date
    public var messageID: String

    public init(
        from: MailAddress, to: [MailAddress], subject: String, text: String, html: String? = nil,
        replyTo: MailAddress? = nil,
        attachments: [Attachment] = [], calendar: (method: String, body: String)? = nil,
        unsubscribe: (https: String, mailto: String?)? = nil,
        extraHeaders: [(String, String)] = [], date: Date = Date(), messageID: String? = nil
    ) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.attachments = attachments
        self.calendar = calendar
        self.unsubscribe = unsubscribe
        self.extraHeaders = extraHeaders
        self.date = date
        self.messageID = messageID ?? "<\(Self.randomHex())@\(from.domain)>"
    }

    /// True when an address needs the server to support SMTPUTF8.
    public var needsSMTPUTF8: Bool { ([from] + to + (replyTo.map { [$0] } ?? [])).contains(where: \.needsSMTPUTF8) }

    /// The message as it goes on the wire (before SMTP dot-stuffing, which belongs to the SMTP writer only).
    public func render() throws(MailError) -> [UInt8] {
        Array(try renderedText().utf8)
    }

    /// The same as text, for a caller that stores it as text (the outbox).
    public func renderedText() throws(MailError) -> String {
        guard !to.isEmpty else { throw .incomplete("recipient") }
        let utf8 = needsSMTPUTF8
        var headers: [String] = []
        headers.append(try HeaderEncoding.field("Date", Self.rfc5322Date(date), encode: false))
        headers.append(try HeaderEncoding.addressField("From", [from], utf8Allowed: utf8))
        headers.append(try HeaderEncoding.addressField("To", to, utf8Allowed: utf8))
        if let replyTo { headers.append(try HeaderEncoding.addressField("Reply-To", [replyTo], utf8Allowed: utf8)) }
        headers.append(try HeaderEncoding.field("Message-ID", messageID, encode: false))
        headers.append(try HeaderEncoding.field("Subject", subject))
        if let unsubscribe {
            guard unsubscribe.https.hasPrefix("https://") || unsubscribe.https.hasPrefix("http://"),
                unsubscribe.https.isPrintableASCII,
                !unsubscribe.https.utf8.contains(where: { $0 == 0x20 || $0 == 0x3C || $0 == 0x3E })
            else { throw .forbiddenCharacter(field: "List-Unsubscribe") }
            var value = "<\(unsubscribe.https)>"
            if let mailto = unsubscribe.mailto {
                guard mailto.isPrintableASCII, !mailto.utf8.contains(where: { $0 == 0x20 || $0 == 0x3C || $0 == 0x3E })
                else {
                    throw .forbiddenCharacter(field: "List-Unsubscribe")
                }
                value += ", <mailto:\(mailto)>"
            }
            // Kept on one line: a folded List-Unsubscribe breaks DKIM at some verifiers.
            let line = "List-Unsubscribe: \(value)"
            guard line.utf8.count <= HeaderEncoding.hardLimit else { throw .lineTooLong(field: "List-Unsubscribe") }
            headers.append(line)
            headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        }
        for (name, value) in extraHeaders {
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                throw .forbiddenCharacter(field: "header name")
            }
            headers.append(try HeaderEncoding.field(name, value))
        }
        headers.append("MIME-Version: 1.0")

        let body = try bodyPart()
        return headers.joined(separator: "\r\n") + "\r\n" + body
    }

    // MARK: - Body structure

    /// A MIME entity: its own headers, a blank line, its content.
    private func bodyPart() throws(MailError) -> String {
        var alternatives = [Self.textPart(text, subtype: "plain")]
        if let html { alternatives.append(Self.textPart(html, subtype: "html")) }
        if let calendar {
            try Self.checkToken(calendar.method, field: "calendar method")
            alternatives.append(Self.textPart(calendar.body, subtype: "calendar; method=\(calendar.method)"))
        }
        let content = alternatives.count == 1 ? alternatives[0] : Self.multipart("alternative", alternatives)
        var files = attachments
        if let calendar {
            files.append(
                Attachment(filename: "invitation.ics", mediaType: "application/ics", bytes: Array(calendar.body.utf8)))
        }
        guard !files.isEmpty else { return content }
        var parts = [content]
        for file in files { parts.append(try Self.attachmentPart(file)) }
        return Self.multipart("mixed", parts)
    }

    static func textPart(_ text: String, subtype: String) -> String {
        "Content-Type: text/\(subtype); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + BodyEncoding.quotedPrintable(text)
    }

    static func attachmentPart(_ file: Attachment) throws(MailError) -> String {
        try checkToken(file.mediaType, field: "attachment type", allowSlash: true)
        let (fallback, disposition) = try filenameParameters(file.filename)
        return
            "Content-Type: \(file.mediaType);\r\n name=\"\(fallback)\"\r\nContent-Disposition: attachment;\r\n\(disposition)\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n" + BodyEncoding.base64(file.bytes)
    }

    /// An ASCII name for old clients (`name=` on Content-Type) and the disposition's filename: as is when ASCII,
    /// otherwise in RFC 2231 UTF-8 form, split into continuations so no line grows past 76 characters.
    static func filenameParameters(_ raw: String) throws(MailError) -> (fallback: String, disposition: String) {
        guard !raw.hasLineBreakOrNUL else { throw .forbiddenCharacter(field: "attachment name") }
        let fallback = String(
            raw.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" }
                .prefix(60))
        if raw.isPrintableASCII && !raw.contains("\"") && !raw.contains("\\") && raw.count <= 60 {
            return (fallback, " filename=\"\(raw)\"")
        }
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        var chunks: [String] = []
        var current = ""
        for character in raw {
            let encoded = String(character).utf8.map {
                unreserved.contains($0) ? String(UnicodeScalar($0)) : "%" + HeaderEncoding.hex($0)
            }.joined()
            if current.count + encoded.count > 56 {
                chunks.append(current)
                current = ""
            }
            current += encoded
        }
        chunks.append(current)
        let lines = chunks.enumerated().map { index, chunk in
            " filename*\(index)*=\(index == 0 ? "utf-8''" : "")\(chunk)"
        }
        return (fallback, lines.joined(separator: ";\r\n"))
    }

    static func multipart(_ subtype: String, _ parts: [String]) -> String {
        // "=_" cannot occur in quoted-printable or base64 output, so this boundary never collides with content.
        let boundary = "=_vivier_" + randomHex()
        var out = "Content-Type: multipart/\(subtype);\r\n boundary=\"\(boundary)\"\r\n\r\n"
        for part in parts { out += "--\(boundary)\r\n\(part)\r\n" }
        return out + "--\(boundary)--\r\n"
    }

    /// 128 random bits as 32 hexadecimal digits, from the system's generator (getrandom): Foundation's `UUID()`
    /// opens /dev/urandom for each one, and a campaign renders two a message.
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for _ in 0..<2 {
            let bits = generator.next()
            for shift in stride(from: 60, through: 0, by: -4) { out.append(digits[Int((bits >> UInt64(shift)) & 0xF)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func checkToken(_ value: String, field: String, allowSlash: Bool = false) throws(MailError) {
        guard !value.isEmpty,
            value.allSatisfy({
                $0.isLetter && $0.isASCII || $0.isNumber || "-.+".contains($0) || (allowSlash && $0 == "/")
            })
        else {
            throw .forbiddenCharacter(field: field)
        }
    }

    /// `Mon, 30 Nov 2026 08:42:08 +0000` (RFC 5322 §3.3), always in English and UTC. Computed by hand: a
    /// DateFormatter per message costs more than the rest of the rendering.
    public static func rfc5322Date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}

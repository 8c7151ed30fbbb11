/// A complete SMTP reply (RFC 5321 §4.2), multi-line replies included: every line's text is kept, because EHLO
/// capabilities live in the continuation lines.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    public var isPositive: Bool { (200..<400).contains(code) }
    public var isTransient: Bool { (400..<500).contains(code) }
    public var isPermanent: Bool { code >= 500 }

    /// The server's words, as recorded on a failed message.
    public var description: String { lines.map { "\(code) \($0)" }.joined(separator: " / ") }

    /// The enhanced status code (RFC 3463) of the first line, e.g. `5.1.1`, when the server sent one.
    public var enhancedCode: String? {
        guard let first = lines.first?.split(separator: " ").first else { return nil }
        let parts = first.split(separator: ".")
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return String(first)
    }
}

/// Incremental reply parser: feed bytes as they arrive, take replies as they complete. Refuses malformed lines,
/// lines that change code mid-reply, and replies longer than a bound.
struct SMTPReplyParser {
    enum Failure: Error, Equatable {
        case malformed(String)
        case tooLong
    }

    static let maxLineLength = 2_048
    static let maxLines = 100

    private var buffer: [UInt8] = []
    private var pendingLines: [String] = []
    private var pendingCode: Int?

    /// Bytes received but not yet part of a complete reply. After the reply to STARTTLS this must be empty: bytes
    /// sent before the TLS handshake must never be read as if they came through it.
    var hasBufferedBytes: Bool { !buffer.isEmpty || !pendingLines.isEmpty }

    mutating func feed(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    mutating func next() throws(Failure) -> SMTPReply? {
        while let newline = buffer.firstIndex(of: 0x0A) {
            var lineBytes = buffer[..<newline]
            if lineBytes.last == 0x0D { lineBytes = lineBytes.dropLast() }
            buffer.removeSubrange(...newline)
            let line = String(decoding: lineBytes, as: UTF8.self)
            guard line.utf8.count >= 3, let code = Int(line.prefix(3)), (200...599).contains(code) else {
                throw .malformed(String(line.prefix(80)))
            }
            let separator = line.dropFirst(3).first
            guard separator == nil || separator == " " || separator == "-" else {
                throw .malformed(String(line.prefix(80)))
            }
            if let pendingCode, pendingCode != code {
                throw .malformed("reply code changed from \(pendingCode) to \(code)")
            }
            pendingCode = code
            pendingLines.append(String(line.dropFirst(4)))
            guard pendingLines.count <= Self.maxLines else { throw .tooLong }
            if separator != "-" {
                let reply = SMTPReply(code: code, lines: pendingLines)
                pendingLines = []
                pendingCode = nil
                return reply
            }
        }
        guard buffer.count <= Self.maxLineLength else { throw .tooLong }
        return nil
    }
}

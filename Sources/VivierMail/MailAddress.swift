/// A mailbox: an address and an optional display name. Built only through `init`, which refuses anything that could
/// inject a header or a command (CR, LF, NUL, angle brackets, spaces) — so an invalid mailbox cannot exist.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    public let address: String
    public let name: String?

    public init(_ address: String, name: String? = nil) throws(MailError) {
        guard !address.hasLineBreakOrNUL else { throw .forbiddenCharacter(field: "address") }
        if let name, name.hasLineBreakOrNUL { throw .forbiddenCharacter(field: "display name") }
        guard Self.isValid(address) else { throw .invalidAddress(address) }
        self.address = address
        self.name = name.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Non-ASCII in the address itself needs the server's SMTPUTF8 (RFC 6531); a non-ASCII display name does not.
    public var needsSMTPUTF8: Bool { !address.utf8.allSatisfy { $0 < 0x80 } }

    public var domain: String {
        let bytes = address.utf8
        return String(bytes[bytes.index(after: bytes.lastIndex(of: UInt8(ascii: "@"))!)...])!
    }

    public var description: String { name.map { "\($0) <\(address)>" } ?? address }

    /// RFC 5321 limits (local part ≤ 64 octets, path ≤ 254) and a conservative character set: what a submission
    /// server accepts in `MAIL FROM` and `RCPT TO` without quoting. Read as bytes: every forbidden character is
    /// ASCII, and a UTF-8 continuation byte never is.
    static func isValid(_ address: String) -> Bool {
        let bytes = address.utf8
        guard bytes.count <= 254, let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return false }
        let local = bytes[..<at]
        let domain = bytes[bytes.index(after: at)...]
        guard !local.isEmpty, local.count <= 64, !domain.isEmpty else { return false }
        let dot = UInt8(ascii: ".")
        var previous: UInt8 = dot
        for byte in local {
            if forbiddenInLocalPart[Int(byte)] || byte == dot && previous == dot { return false }
            previous = byte
        }
        guard previous != dot else { return false }
        let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
        return labels.count >= 2
            && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.first != UInt8(ascii: "-")
                    && label.last != UInt8(ascii: "-") && isLabelText(label)
            }
    }

    private static let forbiddenInLocalPart = HeaderEncoding.octetTable(" <>()[]\\,;:\"@\t")

    /// Letters, digits and hyphens; non-ASCII letters too (an internationalised domain in UTF-8).
    private static func isLabelText(_ label: Substring.UTF8View) -> Bool {
        if label.allSatisfy({ $0 < 0x80 }) {
            return label.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                    || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
            }
        }
        return Substring(label).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
    }
}

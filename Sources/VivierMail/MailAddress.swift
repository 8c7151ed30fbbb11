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

    public var domain: String { String(address[address.index(after: address.lastIndex(of: "@")!)...]) }

    public var description: String { name.map { "\($0) <\(address)>" } ?? address }

    /// RFC 5321 limits (local part ≤ 64 octets, path ≤ 254) and a conservative character set: what a submission
    /// server accepts in `MAIL FROM` and `RCPT TO` without quoting.
    static func isValid(_ address: String) -> Bool {
        guard address.utf8.count <= 254, let at = address.lastIndex(of: "@") else { return false }
        let local = address[..<at]
        let domain = address[address.index(after: at)...]
        guard !local.isEmpty, local.utf8.count <= 64, !domain.isEmpty else { return false }
        // Every forbidden character is ASCII, so the bytes say it (a UTF-8 continuation byte is never ASCII).
        let dot = UInt8(ascii: ".")
        guard !local.utf8.contains(where: { forbiddenInLocalPart.contains($0) }), local.utf8.first != dot,
            local.utf8.last != dot,
            !local.utf8.indices.dropLast().contains(where: { index in
                local.utf8[index] == dot && local.utf8[local.utf8.index(after: index)] == dot
            })
        else { return false }
        let labels = domain.utf8.split(separator: dot, omittingEmptySubsequences: false)
        return labels.count >= 2
            && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.first != UInt8(ascii: "-")
                    && label.last != UInt8(ascii: "-") && isLabelText(Substring(label))
            }
    }

    private static let forbiddenInLocalPart = Set(" <>()[]\\,;:\"@\t".utf8)

    /// Letters, digits and hyphens; non-ASCII letters too (an internationalised domain in UTF-8).
    private static func isLabelText(_ label: Substring) -> Bool {
        if label.utf8.allSatisfy({ $0 < 0x80 }) {
            return label.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                    || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
            }
        }
        return label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
    }
}

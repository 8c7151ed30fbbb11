/// Why a message could not be built. Every case names the part at fault so the caller can say what to fix.
public enum MailError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A CR, LF or NUL in a header value, name or address: refused, never passed on (header injection).
    case forbiddenCharacter(field: String)
    /// Not an address a mail server would accept.
    case invalidAddress(String)
    /// A line that cannot be folded under the 998-octet limit of RFC 5322 §2.1.1.
    case lineTooLong(field: String)
    /// The message has no recipient, or no body.
    case incomplete(String)

    public var description: String {
        switch self {
        case .forbiddenCharacter(let field): "\(field) contains a line break or NUL character"
        case .invalidAddress(let address): "'\(address)' is not a valid email address"
        case .lineTooLong(let field): "\(field) is too long to be sent (over 998 characters without a place to fold)"
        case .incomplete(let what): "the message has no \(what)"
        }
    }
}

extension StringProtocol {
    /// True when the text could break out of a header line: CR, LF or NUL.
    var hasLineBreakOrNUL: Bool {
        utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }
}

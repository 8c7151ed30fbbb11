import Foundation
import Vapor

/// Addresses that route answers back to the message they answer: `bounce+TOKEN@domain` as envelope sender (VERP)
/// and `reply+TOKEN@domain` as Reply-To. The token is the outbox message id and an HMAC of it under the
/// installation secret, all lowercase hex so MTAs that fold case cannot break it; a forged token is refused.
enum Verp {
    enum Kind: String {
        case bounce, reply
        /// The `mailto:` of `List-Unsubscribe`: any mail to it unsubscribes the person the message went to.
        case unsubscribe = "unsub"
    }

    static func address(_ kind: Kind, messageID: UUID, domain: String, secret: [UInt8]) -> String {
        "\(kind.rawValue)+\(token(kind, messageID: messageID, secret: secret))@\(domain)"
    }

    static func token(_ kind: Kind, messageID: UUID, secret: [UInt8]) -> String {
        let id = messageID.compactHex
        return "\(id).\(mac(kind, id, secret))"
    }

    /// The kind and message id an address stands for, or nil when it is not one of ours or its MAC is wrong.
    static func parse(_ address: String, secret: [UInt8]) -> (Kind, UUID)? {
        let local = address.lowercased().split(separator: "@").first.map(String.init) ?? ""
        let parts = local.split(separator: "+", maxSplits: 1)
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else { return nil }
        let token = parts[1].split(separator: ".")
        guard token.count == 2, token[0].count == 32, let uuid = UUID(uuidString: dashed(String(token[0]))) else {
            return nil
        }
        let expected = Array(mac(kind, String(token[0]), secret).utf8)
        let presented = Array(token[1].utf8)
        guard expected.count == presented.count, zip(expected, presented).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            return nil
        }
        return (kind, uuid)
    }

    private static func mac(_ kind: Kind, _ id: String, _ secret: [UInt8]) -> String {
        // 80 bits, hex: enough against forgery, short enough for the 64-octet local part.
        Tokens.mac("verp:\(kind.rawValue):\(id)", secret: secret).prefix(10).hexString
    }

    private static func dashed(_ hex: String) -> String {
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-"
            + String(c[20..<32])
    }
}

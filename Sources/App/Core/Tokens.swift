import Crypto
import Foundation
import Vapor

/// Random tokens and keyed hashes. Tokens are 256 bits from the system CSPRNG (ASVS 7.2.3), URL-safe.
enum Tokens {
    static func random(bytes: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return data.base64URLEncoded
    }

    /// The SHA-256 of a token, as stored in the database in place of the token.
    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hexString
    }

    /// HMAC-SHA256 of `message` under the installation secret.
    static func mac(_ message: String, secret: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: secret)))
    }

    /// The same, base64url.
    static func sign(_ message: String, secret: [UInt8]) -> String {
        Data(mac(message, secret: secret)).base64URLEncoded
    }

    /// Constant-time comparison of two secrets.
    static func equal(_ presented: String, _ expected: String) -> Bool {
        let a = Array(presented.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Constant-time comparison of a presented signature with the expected one.
    static func verify(_ signature: String, of message: String, secret: [UInt8]) -> Bool {
        equal(signature, sign(message, secret: secret))
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

extension Digest {
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}

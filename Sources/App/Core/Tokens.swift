import Crypto
import Foundation
import NIOConcurrencyHelpers
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
        var hmac = keyed(secret)
        hmac.update(data: Array(message.utf8))
        return Array(hmac.finalize())
    }

    /// The HMAC state after the key, made once and copied for each message (the digest state is copy-on-write): a
    /// campaign signs several links per recipient.
    private static let lastKey = NIOLockedValueBox<(secret: [UInt8], hmac: HMAC<SHA256>)?>(nil)

    private static func keyed(_ secret: [UInt8]) -> HMAC<SHA256> {
        lastKey.withLockedValue { cached in
            if let cached, cached.secret == secret { return cached.hmac }
            let hmac = HMAC<SHA256>(key: SymmetricKey(data: secret))
            cached = (secret, hmac)
            return hmac
        }
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
    /// Base64 with the URL alphabet and no padding (RFC 4648 §5), byte by byte: links are signed by the thousand.
    var base64URLEncoded: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity((count + 2) / 3 * 4)
        var iterator = makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next(), b2 = b1 == nil ? nil : iterator.next()
            encoded.append(alphabet[Int(b0 >> 2)])
            encoded.append(alphabet[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            if let b1 { encoded.append(alphabet[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)]) }
            if let b2 { encoded.append(alphabet[Int(b2 & 0x3F)]) }
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

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
        Array(code(message, secret: secret))
    }

    private static func code(_ message: String, secret: [UInt8]) -> HashedAuthenticationCode<SHA256> {
        var hmac = keyed(secret)
        var message = message
        message.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        return hmac.finalize()
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
        code(message, secret: secret).withUnsafeBytes(Base64URL.encode)
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
    var base64URLEncoded: String { withUnsafeBytes(Base64URL.encode) }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5), written straight into the string: a campaign signs
/// several links per recipient (`Data`'s byte iterator was a third of signing one).
enum Base64URL {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let length = (bytes.count * 4 + 2) / 3
        return String(unsafeUninitializedCapacity: length) { out in
            let digits = alphabet.utf8Start
            var index = 0, written = 0
            while index < bytes.count {
                let b0 = bytes[index]
                let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
                let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
                out[written] = digits[Int(b0 >> 2)]
                out[written + 1] = digits[Int((b0 & 0x03) << 4 | b1 >> 4)]
                if index + 1 < bytes.count { out[written + 2] = digits[Int((b1 & 0x0F) << 2 | b2 >> 6)] }
                if index + 2 < bytes.count { out[written + 3] = digits[Int(b2 & 0x3F)] }
                written += min(4, (bytes.count - index) + 1)
                index += 3
            }
            return length
        }
    }

    static func encode(_ string: String) -> String {
        var string = string
        return string.withUTF8 { encode(UnsafeRawBufferPointer($0)) }
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

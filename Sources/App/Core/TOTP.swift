import Crypto
import Foundation

/// One-time codes of an authenticator app: HOTP (RFC 4226) over 30-second steps (TOTP, RFC 6238), HMAC-SHA1 and
/// six digits, the parameters every app reads from an `otpauth://` address.
enum TOTP {
    static let step: TimeInterval = 30
    static let digits = 6

    /// The time step `date` falls in.
    static func counter(at date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / step).rounded(.down)) }

    /// The code of `counter` (RFC 4226 §5.3: dynamic truncation), `digits` long with leading zeros.
    static func code(secret: [UInt8], counter: Int64, digits: Int = digits) -> String {
        let message = (0..<8).reversed().map {
            UInt8(truncatingIfNeeded: UInt64(bitPattern: counter) >> (8 * UInt64($0)))
        }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let value =
            (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(value % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The step a typed code belongs to, allowing one step either side for a clock that drifts or a slow typist;
    /// nil when it matches none or only steps already used (a code works once, RFC 6238 §5.2).
    static func matchingCounter(_ typed: String, secret: [UInt8], at date: Date, after lastUsed: Int64?) -> Int64? {
        let code = typed.filter(\.isNumber)
        guard code.count == digits else { return nil }
        let now = counter(at: date)
        for candidate in [now - 1, now, now + 1] where candidate > (lastUsed ?? Int64.min) {
            if Tokens.equal(Self.code(secret: secret, counter: candidate), code) { return candidate }
        }
        return nil
    }

    static func newSecret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// What an authenticator app scans or is given by hand (Key Uri Format).
    static func uri(secret: [UInt8], account: String, issuer: String) -> String {
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@")))
                ?? text
        }
        return "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(Base32.encode(secret))"
            + "&issuer=\(escape(issuer))&algorithm=SHA1&digits=\(digits)&period=\(Int(step))"
    }
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    static func encode(_ bytes: [UInt8]) -> String {
        var output = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return output
    }

    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.uppercased() where character != " " && character != "=" {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> UInt32(bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return output
    }
}

import Crypto
import CryptoExtras
import Foundation

/// DKIM signatures (RFC 6376) with relaxed/relaxed canonicalisation: `rsa-sha256` always, `ed25519-sha256`
/// (RFC 8463) as an optional second signature — Gmail still ignores Ed25519.
public struct DKIMSigner: Sendable {
    public enum Key: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)

        var algorithm: String {
            switch self {
            case .rsa: "rsa-sha256"
            case .ed25519: "ed25519-sha256"
            }
        }
    }

    public enum KeyError: Error, Equatable, CustomStringConvertible {
        case unreadable(String)
        case weak(bits: Int)

        public var description: String {
            switch self {
            case .unreadable(let reason): "the DKIM key cannot be read: \(reason)"
            case .weak(let bits): "the DKIM RSA key has \(bits) bits; at least 2048 are required"
            }
        }
    }

    public let domain: String
    public let selector: String
    public let key: Key

    /// Headers signed when present, each also "over-signed" once so nobody can add another copy after signing
    /// (RFC 6376 §8.15).
    public static let signedHeaders = [
        "from", "to", "cc", "reply-to", "subject", "date", "message-id", "mime-version", "content-type",
        "content-transfer-encoding",
        "list-unsubscribe", "list-unsubscribe-post",
    ]

    public init(domain: String, selector: String, key: Key) {
        self.domain = domain
        self.selector = selector
        self.key = key
    }

    /// Reads every PEM block of `pem`: RSA keys (PKCS#1 or PKCS#8, at least 2048 bits) and Ed25519 keys (PKCS#8).
    public static func keys(fromPEM pem: String) throws(KeyError) -> [Key] {
        var keys: [Key] = []
        let blocks = pem.components(separatedBy: "-----BEGIN ").dropFirst().map { "-----BEGIN " + $0 }
        guard !blocks.isEmpty else { throw .unreadable("no PEM block (-----BEGIN ... PRIVATE KEY-----) found") }
        for block in blocks {
            if let ed = try? Curve25519.Signing.PrivateKey(pemRepresentation: block) {
                keys.append(.ed25519(ed))
                continue
            }
            if let rsa = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: block) {
                guard rsa.keySizeInBits >= 2048 else { throw .weak(bits: rsa.keySizeInBits) }
                keys.append(.rsa(rsa))
                continue
            }
            throw .unreadable("a PEM block is neither an RSA nor an Ed25519 private key")
        }
        return keys
    }

    /// The TXT record to publish at `<selector>._domainkey.<domain>`.
    public var dnsRecord: String {
        switch key {
        case .rsa(let key): "v=DKIM1; k=rsa; p=\(key.publicKey.derRepresentation.base64EncodedString())"
        case .ed25519(let key): "v=DKIM1; k=ed25519; p=\(key.publicKey.rawRepresentation.base64EncodedString())"
        }
    }

    /// The `DKIM-Signature` field (folded, with its CRLF) to put in front of `message`, the exact bytes that will
    /// be sent (CRLF line ends, before dot-stuffing).
    public func signatureField(for message: [UInt8], at time: Date = Date()) throws -> String {
        let (headerBlock, body) = Self.split(message)
        let fields = Self.fields(headerBlock)
        let bodyHash = Data(SHA256.hash(data: Self.relaxedBody(body))).base64EncodedString()

        // Each present header, all its instances, then the name once more for over-signing.
        var names: [String] = []
        for name in Self.signedHeaders {
            let count = fields.filter { $0.name == name }.count
            guard count > 0 else { continue }
            names += Array(repeating: name, count: count + 1)
        }
        let tags = [
            "v=1", "a=\(key.algorithm)", "c=relaxed/relaxed", "d=\(domain)", "s=\(selector)",
            "t=\(Int(time.timeIntervalSince1970))",
            "h=\(names.joined(separator: ":"))", "bh=\(bodyHash)", "b=",
        ]
        // Fold between tags only; the header is signed exactly as it will appear, with an empty b=.
        var unsigned = "DKIM-Signature: "
        var lineLength = unsigned.count
        for (index, tag) in tags.enumerated() {
            let piece = tag + (index < tags.count - 1 ? ";" : "")
            if lineLength + piece.count + 1 > 76 && lineLength > 16 {
                unsigned += "\r\n "
                lineLength = 1
            } else if index > 0 {
                unsigned += " "
                lineLength += 1
            }
            unsigned += piece
            lineLength += piece.count
        }
        let data = Self.signingInput(fields: fields, names: names, unsignedField: unsigned)
        var encoded = try sign(data).base64EncodedString()[...]
        var field = unsigned
        var room = max(0, 76 - lineLength)
        while !encoded.isEmpty {
            if room == 0 {
                field += "\r\n "
                room = 75
            }
            field += encoded.prefix(room)
            encoded = encoded.dropFirst(room)
            room = 0
        }
        return field + "\r\n"
    }

    /// Signs `message` with every signer, returning the message with their `DKIM-Signature` fields on top.
    public static func sign(_ message: [UInt8], with signers: [DKIMSigner], at time: Date = Date()) throws -> [UInt8] {
        let fields = try signers.map { try $0.signatureField(for: message, at: time) }
        return Array(fields.joined().utf8) + message
    }

    /// What is signed (RFC 6376 §3.7): the headers named in `h=`, each name taking the next instance from the
    /// bottom (a name with no instance left adds nothing), then the signature field with an empty `b=` and no CRLF.
    static func signingInput(fields: [Field], names: [String], unsignedField: String) -> [UInt8] {
        var remaining = Dictionary(grouping: fields, by: \.name)
        var input = ""
        for name in names {
            guard let field = remaining[name]?.popLast() else { continue }
            input += relaxedHeader(field.raw) + "\r\n"
        }
        return Array((input + relaxedHeader(unsignedField)).utf8)
    }

    /// Signs a signing input with this signer's key: PKCS#1 v1.5 over SHA-256 for RSA; Ed25519 over the SHA-256
    /// digest for Ed25519 (RFC 8463 §3).
    func sign(_ data: [UInt8]) throws -> Data {
        switch key {
        case .rsa(let key):
            try key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation
        case .ed25519(let key): try key.signature(for: Data(SHA256.hash(data: data)))
        }
    }

    // MARK: - Canonicalisation (RFC 6376 §3.4)

    struct Field {
        var name: String
        /// The whole field as in the message, folds included, without the final CRLF.
        var raw: String
    }

    static func split(_ message: [UInt8]) -> (headers: [UInt8], body: [UInt8]) {
        var index = 0
        while index + 3 < message.count {
            if message[index] == 0x0D && message[index + 1] == 0x0A && message[index + 2] == 0x0D
                && message[index + 3] == 0x0A
            {
                return (Array(message[..<(index + 2)]), Array(message[(index + 4)...]))
            }
            index += 1
        }
        return (message, [])
    }

    static func fields(_ block: [UInt8]) -> [Field] {
        var fields: [Field] = []
        for line in String(decoding: block, as: UTF8.self).components(separatedBy: "\r\n") where !line.isEmpty {
            if line.first == " " || line.first == "\t", !fields.isEmpty {
                fields[fields.count - 1].raw += "\r\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                fields.append(Field(name: line[..<colon].trimmingCharacters(in: .whitespaces).lowercased(), raw: line))
            }
        }
        return fields
    }

    /// Relaxed header canonicalisation: lowercase name, unfold, runs of whitespace to one space, no whitespace at
    /// the end or around the colon.
    static func relaxedHeader(_ raw: String) -> String {
        let colon = raw.firstIndex(of: ":")!
        let name = raw[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = raw[raw.index(after: colon)...].replacingOccurrences(of: "\r\n", with: "")
        return name + ":" + collapseWhitespace(value[...]).trimmingCharacters(in: .whitespaces)
    }

    /// Relaxed body canonicalisation: trailing whitespace of each line removed, runs of whitespace to one space,
    /// every empty line at the end removed; an empty body stays empty.
    static func relaxedBody(_ body: [UInt8]) -> [UInt8] {
        var lines = String(decoding: body, as: UTF8.self).components(separatedBy: "\r\n")
        lines = lines.map { collapseWhitespace($0[...]).replacingTrailingSpaces() }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard !lines.isEmpty else { return [] }
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    static func collapseWhitespace(_ text: Substring) -> String {
        var out = ""
        var inSpace = false
        for character in text {
            if character == " " || character == "\t" {
                inSpace = true
            } else {
                if inSpace { out.append(" ") }
                inSpace = false
                out.append(character)
            }
        }
        if inSpace { out.append(" ") }
        return out
    }
}

extension String {
    fileprivate func replacingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

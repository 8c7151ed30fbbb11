import Fluent
import Foundation

/// Links in emails that act without a login (consent opt-ins, the survey): their content is signed with the
/// installation secret and carries an expiry, so a changed character or an old link is refused. Acting on one
/// is recorded in `UsedToken`, so it works once.
enum SignedLink {
    enum Failure: Error, Equatable {
        case tampered, expired
    }

    /// `fields` joined with the expiry, base64url, a dot, and the signature.
    static func make(_ fields: [String], expires: Date, secret: [UInt8]) -> String {
        let payload = (fields + [String(Int(expires.timeIntervalSince1970))]).joined(separator: "|")
        let encoded = Base64URL.encode(payload)
        return encoded + "." + Tokens.sign(encoded, secret: secret)
    }

    /// The fields of a token this installation signed and that has not expired.
    static func open(_ token: String, secret: [UInt8], now: Date) -> Result<[String], Failure> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, Tokens.verify(String(parts[1]), of: String(parts[0]), secret: secret),
            let data = Data(base64URL: String(parts[0]))
        else { return .failure(.tampered) }
        var fields = String(decoding: data, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false)
            .map(String.init)
        guard let expiry = fields.popLast().flatMap(Int.init) else { return .failure(.tampered) }
        guard Date(timeIntervalSince1970: TimeInterval(expiry)) > now else { return .failure(.expired) }
        return .success(fields)
    }
}

extension Data {
    init?(base64URL: String) {
        var base64 = base64URL.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}

extension SignedLink {
    /// A single-use link of `kind` with `count` fields (the kind included): its fields when it is intact, unexpired
    /// and not used yet, else what is wrong with it.
    static func openOnce(_ token: String, kind: String, count: Int, secret: [UInt8], now: Date, on db: any Database)
        async throws -> Result<[String], LinkProblem>
    {
        switch open(token, secret: secret, now: now) {
        case .failure(let failure): return .failure(failure == .expired ? .expired : .tampered)
        case .success(let fields):
            guard fields.count == count, fields.first == kind else { return .failure(.tampered) }
            if try await UsedToken.query(on: db).filter(\.$tokenHash == Tokens.hash(token)).count() > 0 {
                return .failure(.used)
            }
            return .success(fields)
        }
    }
}

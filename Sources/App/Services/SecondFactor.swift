import Crypto
import Fluent
import Foundation
import Vapor

/// The second factor of back-office users: an authenticator app (TOTP), with ten recovery codes for when it is lost.
enum SecondFactor {
    /// The app's secret, sealed (AES-GCM) under a key derived from the installation secret: a copy of the
    /// database alone does not give anyone the codes.
    static func seal(_ secret: [UInt8], with installation: [UInt8]) throws -> String {
        try AES.GCM.seal(secret, using: key(installation)).combined!.base64EncodedString()
    }

    static func open(_ sealed: String, with installation: [UInt8]) -> [UInt8]? {
        guard let data = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: data),
            let plain = try? AES.GCM.open(box, using: key(installation))
        else { return nil }
        return Array(plain)
    }

    private static func key(_ installation: [UInt8]) -> SymmetricKey {
        SymmetricKey(data: SHA256.hash(data: Array("vivier totp".utf8) + installation))
    }

    enum Method: String {
        case app, recoveryCode = "recovery code"
    }

    /// Checks a typed code: the app's code of the current step (once), or an unused recovery code (spent).
    static func verify(_ typed: String, for user: User, config: AppConfig, on db: any Database, now: Date)
        async throws -> Method?
    {
        guard let sealed = user.totpSecret, let secret = open(sealed, with: config.secret) else { return nil }
        if let step = TOTP.matchingCounter(typed, secret: secret, at: now, after: user.totpLastStep) {
            user.totpLastStep = step
            try await user.save(on: db)
            return .app
        }
        let userID = try user.requireID()
        if let code = try await RecoveryCode.query(on: db).filter(\.$user.$id == userID)
            .filter(\.$codeHash == RecoveryCode.hash(typed)).filter(\.$usedAt == nil).first()
        {
            code.usedAt = now
            try await code.save(on: db)
            return .recoveryCode
        }
        return nil
    }

    /// Ten new recovery codes replace the old ones; returned once, kept hashed.
    static func newRecoveryCodes(for userID: UUID, on db: any Database) async throws -> [String] {
        let codes = RecoveryCode.generate()
        try await db.transaction { db in
            try await RecoveryCode.query(on: db).filter(\.$user.$id == userID).delete()
            for code in codes { try await RecoveryCode(userID: userID, code: code).create(on: db) }
        }
        return codes
    }
}

import Foundation
import VivierMail

/// How Vivier sends mail: `VIVIER_SMTP_URL` (else a Maildir under the data directory), the sender address and the
/// optional DKIM keys. Read with the rest of the configuration; a bad value stops the boot naming the variable.
public struct MailSettings: Sendable {
    public var smtp: SMTPConfiguration?
    public var from: MailAddress
    public var signers: [DKIMSigner]
    public var maildir: URL

    static func load(
        _ value: (String) -> String?, publicHost: String, dataDirectory: URL, production: Bool
    ) throws -> MailSettings {
        let fallbackDomain =
            publicHost.contains(".") && !publicHost.allSatisfy({ $0.isNumber || $0 == "." })
            ? publicHost : "localhost.localdomain"
        let fromValue = value("VIVIER_MAIL_FROM") ?? "recrutement@\(fallbackDomain)"
        let from: MailAddress
        do {
            from = try MailAddress(fromValue)
        } catch {
            throw AppConfig.Invalid(
                variable: "VIVIER_MAIL_FROM", problem: "'\(fromValue)' is not an email address (\(error))")
        }

        var smtp: SMTPConfiguration?
        if let url = value("VIVIER_SMTP_URL") {
            do {
                smtp = try SMTPConfiguration.parse(url, heloName: from.domain)
            } catch {
                throw AppConfig.Invalid(
                    variable: "VIVIER_SMTP_URL",
                    problem: "\(error); e.g. smtp://user:password@mail.example.com:587?starttls=required")
            }
        }

        var signers: [DKIMSigner] = []
        let dkimDomain = value("VIVIER_DKIM_DOMAIN"), selector = value("VIVIER_DKIM_SELECTOR"),
            keyFile = value("VIVIER_DKIM_KEY_FILE")
        if dkimDomain != nil || selector != nil || keyFile != nil {
            guard let dkimDomain, let selector, let keyFile else {
                let missing = [
                    ("VIVIER_DKIM_DOMAIN", dkimDomain), ("VIVIER_DKIM_SELECTOR", selector),
                    ("VIVIER_DKIM_KEY_FILE", keyFile),
                ]
                .filter { $0.1 == nil }.map(\.0)
                throw AppConfig.Invalid(
                    variable: missing.joined(separator: ", "),
                    problem: "DKIM needs VIVIER_DKIM_DOMAIN, VIVIER_DKIM_SELECTOR and VIVIER_DKIM_KEY_FILE together")
            }
            guard let pem = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
                throw AppConfig.Invalid(variable: "VIVIER_DKIM_KEY_FILE", problem: "cannot read \(keyFile)")
            }
            let keys: [DKIMSigner.Key]
            do {
                keys = try DKIMSigner.keys(fromPEM: pem)
            } catch {
                throw AppConfig.Invalid(variable: "VIVIER_DKIM_KEY_FILE", problem: "\(error)")
            }
            guard keys.contains(where: { if case .rsa = $0 { true } else { false } }) else {
                throw AppConfig.Invalid(
                    variable: "VIVIER_DKIM_KEY_FILE",
                    problem: "an RSA key (2048 bits or more) is required; Ed25519 can only be a second key")
            }
            // RSA first: receivers that ignore Ed25519 still find the signature they check.
            signers = keys.sorted { a, _ in if case .rsa = a { true } else { false } }.enumerated().map { index, key in
                DKIMSigner(domain: dkimDomain, selector: index == 0 ? selector : "\(selector)-ed25519", key: key)
            }
        }
        return MailSettings(
            smtp: smtp, from: from, signers: signers,
            maildir: dataDirectory.appendingPathComponent("mail", isDirectory: true))
    }
}

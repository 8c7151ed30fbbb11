import Foundation
import VivierCore

/// The optional text-message channel: `VIVIER_SMS_PROVIDER` (`twilio` or `brevo`; unset, no texts), the
/// provider's base URL (`VIVIER_SMS_BASE_URL`, for a regional endpoint or a test double), the account
/// (`VIVIER_SMS_ACCOUNT`, Twilio's account SID), the secret (`VIVIER_SMS_TOKEN`: Twilio's auth token or Brevo's API
/// key) and the sender (`VIVIER_SMS_FROM`: a number in E.164 or an alphanumeric name of at most 11 characters).
public struct SMSSettings: Sendable {
    public enum Provider: String, Sendable {
        case twilio, brevo
    }

    public var provider: Provider
    public var baseURL: String
    public var account: String
    public var token: String
    public var from: String

    static func load(_ value: (String) -> String?) throws -> SMSSettings? {
        guard let name = value("VIVIER_SMS_PROVIDER") else {
            for variable in ["VIVIER_SMS_BASE_URL", "VIVIER_SMS_ACCOUNT", "VIVIER_SMS_TOKEN", "VIVIER_SMS_FROM"]
            where value(variable) != nil {
                throw AppConfig.Invalid(
                    variable: variable, problem: "set VIVIER_SMS_PROVIDER (twilio or brevo) to send text messages")
            }
            return nil
        }
        guard let provider = Provider(rawValue: name.lowercased()) else {
            throw AppConfig.Invalid(
                variable: "VIVIER_SMS_PROVIDER", problem: "'\(name)' is not supported; use twilio or brevo")
        }
        let base =
            value("VIVIER_SMS_BASE_URL") ?? (provider == .twilio ? "https://api.twilio.com" : "https://api.brevo.com")
        guard let url = URL(string: base), ["https", "http"].contains(url.scheme ?? ""), url.host != nil else {
            throw AppConfig.Invalid(variable: "VIVIER_SMS_BASE_URL", problem: "'\(base)' is not an http(s) URL")
        }
        guard let token = value("VIVIER_SMS_TOKEN") else {
            throw AppConfig.Invalid(
                variable: "VIVIER_SMS_TOKEN",
                problem: provider == .twilio ? "the Twilio auth token is required" : "the Brevo API key is required")
        }
        let account = value("VIVIER_SMS_ACCOUNT") ?? ""
        if provider == .twilio && account.isEmpty {
            throw AppConfig.Invalid(variable: "VIVIER_SMS_ACCOUNT", problem: "the Twilio account SID is required")
        }
        guard let from = value("VIVIER_SMS_FROM") else {
            throw AppConfig.Invalid(variable: "VIVIER_SMS_FROM", problem: "the sender number or name is required")
        }
        let alphanumeric =
            from.count <= 11 && from.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
            && from.contains(where: \.isLetter)
        guard alphanumeric || SMS.e164(from) != nil else {
            throw AppConfig.Invalid(
                variable: "VIVIER_SMS_FROM",
                problem:
                    "'\(from)' is neither a phone number (+33612345678) nor a name of at most 11 letters and digits")
        }
        return SMSSettings(
            provider: provider, baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base, account: account,
            token: token, from: alphanumeric ? from : SMS.e164(from)!)
    }
}

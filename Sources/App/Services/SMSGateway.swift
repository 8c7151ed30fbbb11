import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import Vapor
import VivierCore

/// Where a text message goes. The outcome drives the queue like SMTP replies drive the outbox: sent, retry later,
/// or failed for good with the provider's words.
protocol SMSGateway: Sendable {
    func send(to phone: String, text: String) async -> SMSOutcome
}

enum SMSOutcome: Equatable, Sendable {
    case sent(id: String)
    case transientFailure(String)
    case permanentFailure(String)

    /// HTTP status classes as both providers use them: 2xx sent, 429 and 5xx retried, other 4xx final.
    static func from(status: UInt, body: String, id: String?) -> SMSOutcome {
        switch status {
        case 200..<300: .sent(id: id ?? "")
        case 429, 500..<600: .transientFailure("HTTP \(status): \(body.prefix(300))")
        default: .permanentFailure("HTTP \(status): \(body.prefix(300))")
        }
    }
}

/// Twilio's Messages API: a form POST to `/2010-04-01/Accounts/{SID}/Messages.json` with Basic authentication.
struct TwilioGateway: SMSGateway {
    var settings: SMSSettings
    var client: HTTPClient

    func send(to phone: String, text: String) async -> SMSOutcome {
        var request = HTTPClientRequest(
            url: "\(settings.baseURL)/2010-04-01/Accounts/\(settings.account)/Messages.json")
        request.method = .POST
        let credentials = Data("\(settings.account):\(settings.token)".utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic \(credentials)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let form = [("To", phone), ("From", settings.from), ("Body", text)].map { "\($0)=\(Self.formEncode($1))" }
            .joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: form))
        return await SMSHTTP.execute(request, client: client) { json in json["sid"] as? String }
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}

/// Brevo's transactional SMS API: a JSON POST to `/v3/transactionalSMS/send` with the `api-key` header; the
/// recipient is written without the plus sign.
struct BrevoGateway: SMSGateway {
    var settings: SMSSettings
    var client: HTTPClient

    func send(to phone: String, text: String) async -> SMSOutcome {
        var request = HTTPClientRequest(url: "\(settings.baseURL)/v3/transactionalSMS/send")
        request.method = .POST
        request.headers.add(name: "api-key", value: settings.token)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        let payload: [String: Any] = [
            "sender": settings.from, "recipient": String(phone.drop { $0 == "+" }), "content": text,
            "type": "transactional", "unicodeEnabled": SMS.segments(text).encoding == .ucs2,
        ]
        guard let body = try? JSONSerialization.data(withJSONObject: payload) else {
            return .permanentFailure("cannot encode the message")
        }
        request.body = .bytes(ByteBuffer(data: body))
        return await SMSHTTP.execute(request, client: client) { json in
            (json["messageId"] as? NSNumber)?.stringValue ?? (json["messageId"] as? String)
        }
    }
}

enum SMSHTTP {
    /// One request with a 15-second deadline; a network failure is temporary.
    static func execute(
        _ request: HTTPClientRequest, client: HTTPClient, id: ([String: Any]) -> String?
    ) async -> SMSOutcome {
        do {
            let response = try await client.execute(request, timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 64 * 1024)
            let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
            return .from(status: response.status.code, body: String(buffer: body), id: id(json))
        } catch {
            return .transientFailure("\(error)")
        }
    }
}

extension Application {
    private struct SMSGatewayKey: StorageKey {
        typealias Value = any SMSGateway
    }

    /// The provider of `VIVIER_SMS_PROVIDER`, or nil when texts are off. Tests put a recording double here.
    var smsGateway: (any SMSGateway)? {
        get {
            if let gateway = storage[SMSGatewayKey.self] { return gateway }
            guard let settings = config.sms else { return nil }
            let gateway: any SMSGateway =
                switch settings.provider {
                case .twilio: TwilioGateway(settings: settings, client: http.client.shared)
                case .brevo: BrevoGateway(settings: settings, client: http.client.shared)
                }
            storage[SMSGatewayKey.self] = gateway
            return gateway
        }
        set { storage[SMSGatewayKey.self] = newValue }
    }
}

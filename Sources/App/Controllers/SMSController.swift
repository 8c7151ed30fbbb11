import Fluent
import Vapor
import VivierCore

/// A recruiter's one-off text to a candidate who agreed, and the provider's webhook for replies (STOP).
struct SMSController {
    struct Form: Content {
        var text: String?
    }

    @Sendable func send(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let candidate = try await access.candidate(req.uuidParameter("id"), on: req.db)
        let id = try candidate.requireID()
        let text = (try req.content.decode(Form.self).text ?? "").replacingOccurrences(of: "\r\n", with: "\n")
        let outcome = try await TextMessages.queue(
            text, kind: "recruiter", to: candidate, dedupeKey: "sms:\(UUID().lowercasedString)",
            sendAt: req.now, config: req.application.config, on: req.db, now: req.now)
        switch outcome {
        case .failure(let refusal):
            return req.redirect(to: SiteURL.candidate(id), flash: refusal.rawValue, kind: .error)
        case .success:
            try await Interaction(
                candidateID: id, applicationID: nil, actorID: access.user.id, kind: .message,
                detail: String("SMS — \(text)".prefix(300)), at: req.now
            ).create(on: req.db)
            return req.redirect(to: SiteURL.candidate(id), flash: "flash.sms_queued")
        }
    }

    /// Twilio posts a form (`From`, `Body`); Brevo posts JSON (`from`/`msisdn`, `text`/`content`). The answer is an
    /// empty TwiML document, which both accept.
    @Sendable func inbound(req: Request) async throws -> Response {
        let key = req.parameters.get("key") ?? ""
        let expected = TextMessages.webhookKey(secret: req.application.config.secret)
        guard req.application.config.sms != nil, Tokens.equal(key, expected) else { throw Abort(.notFound) }
        struct Twilio: Content {
            var From: String?
            var Body: String?
        }
        struct Brevo: Content {
            var from: String?
            var msisdn: String?
            var text: String?
            var content: String?
        }
        var from = "", body = ""
        if req.headers.contentType == .json, let brevo = try? req.content.decode(Brevo.self) {
            from = brevo.from ?? brevo.msisdn.map { "+" + $0 } ?? ""
            body = brevo.text ?? brevo.content ?? ""
        } else if let twilio = try? req.content.decode(Twilio.self) {
            from = twilio.From ?? ""
            body = twilio.Body ?? ""
        }
        guard !from.isEmpty else { throw Abort(.badRequest, reason: "no sender number") }
        _ = try await TextMessages.inbound(from: from, body: body, on: req.db, now: req.now)
        let response = Response(
            status: .ok, body: .init(string: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"))
        response.headers.contentType = .xml
        return response
    }
}

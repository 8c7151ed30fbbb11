import Vapor

/// Headers every response carries (ASVS 3.4): a strict CSP with no inline script, no sniffing, no framing.
struct SecurityHeadersMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        let headers = [
            (
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("X-Frame-Options", "DENY"),
        ]
        for (name, value) in headers where !response.headers.contains(name: name) {
            response.headers.replaceOrAdd(name: name, value: value)
        }
        return response
    }
}

/// Turns every error into a page in the visitor's language (or JSON for API clients), without internals: a 500
/// shows a reference the operator finds in the logs, never a stack trace.
struct ErrorPageMiddleware: AsyncMiddleware {
    struct Content: Encodable {
        var status: Int
        var heading: String
        var message: String
        var reference: String?
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch let abort as any AbortError where abort.status.code / 100 == 3 {
            // A redirect thrown as an error (`Abort.redirect`): sent on as is.
            return Response(status: abort.status, headers: abort.headers)
        } catch  where request.url.path.hasPrefix("/api/") {
            return APIMiddleware.problem(error, request)
        } catch {
            let status = (error as? any AbortError)?.status ?? .internalServerError
            let generic =
                request.t("error.status.\(status.code)") == "error.status.\(status.code)"
                ? status.reasonPhrase : request.t("error.status.\(status.code)")
            // Our own refusals explain themselves; anything else gets the generic words for its status.
            var message = generic
            if let abort = error as? any AbortError, status.code < 500, status.code != 413,
                abort.reason != status.reasonPhrase
            {
                message = abort.reason
            }
            var reference: String?
            if status.code >= 500 {
                let id = Tokens.random(bytes: 6)
                reference = id
                request.logger.error(
                    "request failed", metadata: ["reference": .string(id), "error": .string(String(reflecting: error))])
            }
            if request.headers.accept.mediaTypes.contains(.json) && !request.headers.accept.mediaTypes.contains(.html) {
                let response = Response(status: status)
                try response.content.encode(["error": message])
                return response
            }
            let heading = request.t(status.code >= 500 ? "error.heading.server" : "error.heading.client")
            do {
                return try await request.page(
                    "error", title: heading, status: status,
                    Content(status: Int(status.code), heading: heading, message: message, reference: reference))
            } catch {
                return Response(status: status, body: .init(string: message))
            }
        }
    }
}

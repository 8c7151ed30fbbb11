import Vapor

/// Cross-site request forgery protection for every request that changes data (ASVS 3.5.1, 3.5.3). Vapor has none.
///
/// Two independent checks: the browser's own signals (`Sec-Fetch-Site`, `Origin`) must not say the request comes
/// from another site, and the form must carry the token of this visitor — the session's token when signed in, else
/// the value of a `vivier_csrf` cookie set on the form page (double submit). GET, HEAD and OPTIONS change nothing.
struct CSRFMiddleware: AsyncMiddleware {
    static let cookie = "vivier_csrf"
    static let field = "_csrf"

    /// The largest body collected to read the token; routes that take uploads raise it.
    let maxBody: Int

    struct Field: Content {
        var _csrf: String?
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if request.method == .GET || request.method == .HEAD || request.method == .OPTIONS {
            let response = try await next.respond(to: request)
            if request.cookies[Self.cookie] == nil, request.userSession == nil {
                response.cookies[Self.cookie] = HTTPCookies.Value(
                    string: request.csrfToken, path: "/", isSecure: request.application.config.production,
                    isHTTPOnly: true, sameSite: .strict)
            }
            return response
        }
        if request.headers.first(name: "Sec-Fetch-Site") == "cross-site" {
            throw Abort(.forbidden, reason: "Cross-site form submission refused.")
        }
        if let origin = request.headers.first(name: .origin), origin != "null", !Self.isSameOrigin(origin, request) {
            throw Abort(.forbidden, reason: "Cross-site form submission refused.")
        }
        if let body = request.body.data {
            // Already in memory (small bodies arrive whole): the limit still applies.
            guard body.readableBytes <= maxBody else { throw Abort(.payloadTooLarge) }
        } else {
            _ = try await request.body.collect(max: maxBody).get()
        }
        let presented = request.headers.first(name: "X-CSRF-Token") ?? (try? request.content.decode(Field.self))?._csrf
        let expected = request.userSession?.csrfToken ?? request.cookies[Self.cookie]?.string
        guard let presented, let expected, !expected.isEmpty,
            Tokens.hash(presented) == Tokens.hash(expected)
        else {
            throw Abort(.forbidden, reason: "This form has expired. Go back, reload the page and submit it again.")
        }
        return try await next.respond(to: request)
    }

    static func isSameOrigin(_ origin: String, _ request: Request) -> Bool {
        if origin == request.application.config.publicURL { return true }
        guard let host = request.headers.first(name: .host), let components = URLComponents(string: origin) else {
            return false
        }
        let originHost = components.host.map { host in components.port.map { "\(host):\($0)" } ?? host }
        return originHost == host
    }
}

extension Request {
    private struct PendingCSRFKey: StorageKey {
        typealias Value = String
    }

    /// The token forms of this page must carry.
    var csrfToken: String {
        if let session = userSession { return session.csrfToken }
        if let cookie = cookies[CSRFMiddleware.cookie]?.string, !cookie.isEmpty { return cookie }
        if let pending = storage[PendingCSRFKey.self] { return pending }
        let fresh = Tokens.random()
        storage[PendingCSRFKey.self] = fresh
        return fresh
    }
}

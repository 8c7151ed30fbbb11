import Fluent
import Vapor

/// Login sessions kept in the database (so any instance can serve any request) and checked on every request:
/// 8-hour idle timeout, 12-hour absolute lifetime (ASVS 7.3.1, 7.3.2), a disabled user loses every session at once.
enum Sessions {
    static let idleTimeout: TimeInterval = 8 * 3600
    static let absoluteLifetime: TimeInterval = 12 * 3600

    static func cookieName(production: Bool) -> String {
        // `__Host-` pins the cookie to this origin over HTTPS (ASVS 3.3.1); it cannot be used on plain http.
        production ? "__Host-vivier_session" : "vivier_session"
    }

    /// Opens a session for `user`, returning the cookie to set. A fresh token on every login (ASVS 7.2.4).
    static func open(for user: User, on request: Request) async throws -> HTTPCookies.Value {
        let token = Tokens.random()
        let session = UserSession(
            tokenHash: Tokens.hash(token), userID: try user.requireID(), csrfToken: Tokens.random(), now: request.now)
        try await session.create(on: request.db)
        return cookie(token, request: request, maxAge: Int(absoluteLifetime))
    }

    static func cookie(_ value: String, request: Request, maxAge: Int) -> HTTPCookies.Value {
        HTTPCookies.Value(
            string: value, maxAge: maxAge, path: "/", isSecure: request.application.config.production, isHTTPOnly: true,
            sameSite: .lax)
    }

    static func close(_ session: UserSession, on db: any Database) async throws {
        try await session.delete(on: db)
    }

    /// Every session of the user, but `keeping` (the one changing the password stays signed in).
    static func closeAll(of userID: UUID, keeping: UUID? = nil, on db: any Database) async throws {
        var sessions = UserSession.query(on: db).filter(\.$user.$id == userID)
        if let keeping { sessions = sessions.filter(\.$id != keeping) }
        try await sessions.delete()
    }
}

extension Request {
    private struct SessionKey: StorageKey {
        typealias Value = UserSession
    }

    private struct UserKey: StorageKey {
        typealias Value = User
    }

    var userSession: UserSession? {
        get { storage[SessionKey.self] }
        set { storage[SessionKey.self] = newValue }
    }

    var currentUser: User? {
        get { storage[UserKey.self] }
        set { storage[UserKey.self] = newValue }
    }

    /// The signed-in user; routes behind `RequireUser` can rely on it.
    func requireUser() throws -> User {
        guard let user = currentUser else { throw Abort(.unauthorized) }
        return user
    }
}

/// Resolves the session cookie to a user on every request; an expired session is deleted on sight.
struct SessionMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let name = Sessions.cookieName(production: request.application.config.production)
        if let token = request.cookies[name]?.string, !token.isEmpty,
            let session = try await UserSession.query(on: request.db).filter(\.$tokenHash == Tokens.hash(token)).with(
                \.$user
            ).first()
        {
            let now = request.now
            let expired =
                now.timeIntervalSince(session.lastSeenAt) > Sessions.idleTimeout
                || now.timeIntervalSince(session.createdAt) > Sessions.absoluteLifetime
            if expired || !session.user.active {
                try await Sessions.close(session, on: request.db)
            } else {
                if now.timeIntervalSince(session.lastSeenAt) > 60 {
                    session.lastSeenAt = now
                    try await session.save(on: request.db)
                }
                request.userSession = session
                request.currentUser = session.user
            }
        }
        return try await next.respond(to: request)
    }
}

/// Sends anonymous visitors of the back office to the login page (or answers 401 to non-HTML clients).
struct RequireUser: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.currentUser != nil else {
            if request.method == .GET {
                let target = request.url.path
                return request.redirect(
                    to: "/login?next=\(target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            }
            throw Abort(.unauthorized)
        }
        // An admin without a second factor can do one thing: set it up (ASVS 6.3.3).
        if request.currentUser?.mustEnrolSecondFactor == true, !request.url.path.hasPrefix(SiteURL.security) {
            guard request.method == .GET else { throw Abort(.forbidden) }
            return request.redirect(to: SiteURL.security)
        }
        return try await next.respond(to: request)
    }
}

/// Lets through only users whose role passes `allows`.
struct RequireRole: AsyncMiddleware {
    let allows: @Sendable (User) -> Bool

    static let manager = RequireRole { $0.canManage }
    static let admin = RequireRole { $0.isAdmin }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard allows(try request.requireUser()) else { throw Abort(.forbidden) }
        return try await next.respond(to: request)
    }
}

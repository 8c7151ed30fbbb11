import Fluent
import Vapor

/// Admins create the tokens other tools call the API with: named, scoped, shown once, revocable, with the time each
/// was last used so a forgotten one can be found and revoked.
struct ApiTokensController {
    struct Row: Encodable {
        var id: String
        var name: String
        var scope: String
        var prefix: String
        var created: String
        var createdBy: String
        var lastUsed: String
        var revoked: String?
        var revokeAction: String
    }

    struct Content: Encodable {
        var rows: [Row]
        var scopes: [Choice]
        var name: String
        var error: String?
        /// The token just created, shown this once.
        var newToken: String?
        var referenceURL: String
    }

    @Sendable func list(req: Request) async throws -> Response {
        try await render(req, name: "", scope: .read)
    }

    struct Form: Codable {
        var name: String?
        var scope: String?
    }

    @Sendable func create(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        let name = (form.name ?? "").trimmed
        guard let scope = ApiToken.Scope(rawValue: form.scope ?? "") else {
            return try await render(req, name: name, scope: .read, error: req.t("error.choose"))
        }
        guard (1...100).contains(name.count), !name.contains(where: \.isNewline) else {
            return try await render(
                req, name: name, scope: scope, error: req.t(name.isEmpty ? "error.required" : "error.too_long"))
        }
        let (token, record) = try ApiToken.issue(name: name, scope: scope, by: try req.requireUser(), now: req.now)
        try await record.create(on: req.db)
        try await req.audit(
            .apiTokenCreated, target: "api_token:\(try record.requireID().api)", detail: "scope=\(scope.rawValue)")
        let response = try await render(req, name: "", scope: .read, newToken: token)
        response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return response
    }

    @Sendable func revoke(req: Request) async throws -> Response {
        guard let id = req.uuidParameter("id"), let token = try await ApiToken.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        if token.revokedAt == nil {
            token.revokedAt = req.now
            try await token.save(on: req.db)
            try await req.audit(.apiTokenRevoked, target: "api_token:\(id.api)")
        }
        return req.redirect(to: SiteURL.apiTokens, flash: "flash.api_token_revoked")
    }

    private func render(
        _ req: Request, name: String, scope: ApiToken.Scope, error: String? = nil, newToken: String? = nil
    ) async throws -> Response {
        let tokens = try await ApiToken.query(on: req.db).with(\.$createdBy).sort(\.$createdAt, .descending).all()
        let never = req.t("api_tokens.never")
        return try await req.page(
            "app/api_tokens", title: req.t("api_tokens.title"), status: error == nil ? .ok : .unprocessableEntity,
            Content(
                rows: try tokens.map { token in
                    let id = try token.requireID()
                    return Row(
                        id: id.api, name: token.name, scope: req.t("api_tokens.scope.\(token.scope.rawValue)"),
                        prefix: token.prefix + "…", created: Dates.dayTime(token.createdAt, req.language),
                        createdBy: token.createdBy.name,
                        lastUsed: token.lastUsedAt.map { Dates.dayTime($0, req.language) } ?? never,
                        revoked: token.revokedAt.map { Dates.dayTime($0, req.language) },
                        revokeAction: SiteURL.apiTokens + "/\(id.api)/revoke")
                },
                scopes: ApiToken.Scope.allCases.map {
                    Choice(value: $0.rawValue, label: req.t("api_tokens.scope.\($0.rawValue)"), selected: $0 == scope)
                },
                name: name, error: error, newToken: newToken, referenceURL: "/api/v1"))
    }
}

import Vapor

/// The friendly page for a link from an email that cannot be used: damaged, expired, or already used. It says
/// what happened and offers a fresh link to the portal, never a bare error.
enum LinkProblem: String, Error, Encodable {
    case tampered, expired, used

    struct Content: Encodable {
        var problem: String
    }

    static func page(_ problem: LinkProblem, _ req: Request) async throws -> Response {
        try await req.page(
            "portal/link_problem", title: req.t("link.\(problem.rawValue)_title"),
            status: problem == .used ? .conflict : problem == .expired ? .gone : .badRequest,
            Content(problem: problem.rawValue))
    }
}

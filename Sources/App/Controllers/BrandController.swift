import Vapor

/// The company's colour as a style sheet and its logo, for the career site, the portal and emails. Both addresses
/// change with what they serve, so browsers and mail clients may keep them for a year.
struct BrandController {
    @Sendable func theme(req: Request) async throws -> Response {
        let brand = try await req.application.brand(on: req.db)
        let response = Response(status: .ok, body: .init(string: ":root { --brand: \(brand.color); }\n"))
        response.headers.contentType = HTTPMediaType(type: "text", subType: "css", parameters: ["charset": "utf-8"])
        response.headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=31536000, immutable")
        return response
    }

    /// Only the current logo: no other stored file (a CV) can be reached through this address.
    @Sendable func logo(req: Request) async throws -> Response {
        let company = try await Company.load(on: req.db)
        let parts = company.logo.split(separator: "|").map(String.init)
        guard parts.count == 2, req.parameters.get("key") == parts[0] else { throw Abort(.notFound) }
        let response = Response(status: .ok, body: .init(data: Data(try req.application.blobs.get(parts[0]))))
        response.headers.replaceOrAdd(name: .contentType, value: parts[1])
        response.headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=31536000, immutable")
        return response
    }
}

import Foundation
import Vapor
import VivierCore
import Yams

/// The API's contract as served to integrators: the OpenAPI file itself and a page that reads it out, operation by
/// operation, with each parameter and body field. Both come from `Resources/API/openapi.yaml`, so they cannot
/// drift from the code generated from it.
struct APIReferenceController {
    struct Field: Encodable {
        var name: String
        var location: String
        var type: String
        var required: Bool
        var description: String
    }

    struct Operation: Encodable {
        var id: String
        var method: String
        var path: String
        var summary: String
        var scope: String
        var parameters: [Field]
        var body: [Field]
        var answer: String
    }

    struct Section: Encodable {
        var name: String
        var operations: [Operation]
    }

    struct Content: Encodable {
        /// The spec's description, as HTML (Markdown rendered safely: it is ours, but the renderer escapes anyway).
        var introduction: String
        var sections: [Section]
        var specURL: String
        var version: String
    }

    static func specFile(_ app: Application) -> URL {
        URL(fileURLWithPath: app.directory.resourcesDirectory).appendingPathComponent("API/openapi.yaml")
    }

    @Sendable func spec(req: Request) async throws -> Response {
        let response = Response(status: .ok, body: .init(data: try Data(contentsOf: Self.specFile(req.application))))
        response.headers.replaceOrAdd(name: .contentType, value: "application/yaml; charset=utf-8")
        return response
    }

    @Sendable func page(req: Request) async throws -> Response {
        let text = try String(contentsOf: Self.specFile(req.application), encoding: .utf8)
        return try await req.page("api_reference", title: req.t("api.reference_title"), try Self.content(of: text))
    }

    /// The operations of the spec, grouped by their first tag in the order the tags are declared.
    static func content(of yaml: String) throws -> Content {
        guard let spec = try Yams.load(yaml: yaml) as? [String: Any], let paths = spec["paths"] as? [String: Any]
        else { throw Abort(.internalServerError, reason: "openapi.yaml has no paths") }
        let info = spec["info"] as? [String: Any] ?? [:]
        let components = (spec["components"] as? [String: Any]) ?? [:]
        let schemas = components["schemas"] as? [String: Any] ?? [:]
        let sharedParameters = components["parameters"] as? [String: Any] ?? [:]

        func resolve(_ node: Any?, in table: [String: Any]) -> [String: Any] {
            guard let node = node as? [String: Any] else { return [:] }
            if let ref = node["$ref"] as? String, let name = ref.split(separator: "/").last {
                return resolve(table[String(name)], in: table)
            }
            return node
        }
        func typeName(_ node: Any?) -> String {
            guard let node = node as? [String: Any] else { return "" }
            if let ref = node["$ref"] as? String { return String(ref.split(separator: "/").last ?? "") }
            if let values = node["enum"] as? [Any] { return values.map { "\($0)" }.joined(separator: " | ") }
            if let type = node["type"] as? String {
                if type == "array" { return "[" + typeName(node["items"]) + "]" }
                if let format = node["format"] as? String { return "\(type) (\(format))" }
                return type
            }
            if let types = node["type"] as? [Any] { return types.map { "\($0)" }.joined(separator: " | ") }
            if let all = node["allOf"] as? [Any] {
                return all.map(typeName).filter { !$0.isEmpty }.joined(separator: " + ")
            }
            return "object"
        }

        var sections: [String: [Operation]] = [:]
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { continue }
            for method in ["get", "post", "put", "patch", "delete"] {
                guard let operation = item[method] as? [String: Any] else { continue }
                let parameters = (operation["parameters"] as? [Any] ?? []).map { resolve($0, in: sharedParameters) }
                    .map { parameter in
                        Field(
                            name: parameter["name"] as? String ?? "", location: parameter["in"] as? String ?? "",
                            type: typeName(parameter["schema"]), required: parameter["required"] as? Bool ?? false,
                            description: (parameter["description"] as? String ?? "").trimmed)
                    }
                var body: [Field] = []
                let content = ((operation["requestBody"] as? [String: Any])?["content"] as? [String: Any]) ?? [:]
                if let json = content["application/json"] as? [String: Any] {
                    let schema = resolve(json["schema"], in: schemas)
                    let required = Set(schema["required"] as? [String] ?? [])
                    for (name, property) in (schema["properties"] as? [String: Any] ?? [:]).sorted(by: {
                        $0.key < $1.key
                    }) {
                        let node = property as? [String: Any] ?? [:]
                        body.append(
                            Field(
                                name: name, location: "body", type: typeName(node), required: required.contains(name),
                                description: (node["description"] as? String ?? "").trimmed))
                    }
                }
                let responses = operation["responses"] as? [String: Any] ?? [:]
                let success = responses.keys.filter { $0.hasPrefix("2") }.sorted().first ?? ""
                let successSchema =
                    (((responses[success] as? [String: Any])?["content"] as? [String: Any])?[
                        "application/json"] as? [String: Any])?["schema"]
                let tag = (operation["tags"] as? [String])?.first ?? "other"
                let scope =
                    method == "get" ? "read" : path.hasSuffix("/suppressions") ? "admin" : "write"
                sections[tag, default: []].append(
                    Operation(
                        id: operation["operationId"] as? String ?? "", method: method.uppercased(),
                        path: "/api/v1" + path,
                        summary: (operation["summary"] as? String ?? "").trimmed, scope: scope, parameters: parameters,
                        body: body, answer: "\(success) \(typeName(successSchema))"))
            }
        }
        let order = (spec["tags"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        return Content(
            introduction: Markdown.html(info["description"] as? String ?? ""),
            sections: order.compactMap { tag in
                sections[tag].map {
                    Section(name: tag, operations: $0.sorted { ($0.path, $0.method) < ($1.path, $1.method) })
                }
            },
            specURL: "/api/v1/openapi.yaml", version: info["version"] as? String ?? "")
    }
}

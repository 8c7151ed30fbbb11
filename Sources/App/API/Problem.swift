import OpenAPIRuntime
import Vapor
import VivierCore

/// An API refusal as an RFC 9457 problem: the status, a sentence, and each refused field with its reason.
struct Problem: Error, Encodable {
    struct FieldError: Encodable, Equatable {
        var field: String
        var reason: String
    }

    var type = "about:blank"
    var title: String
    var status: Int
    var detail: String?
    var errors: [FieldError]?

    init(_ status: HTTPResponseStatus, _ detail: String?, errors: [FieldError]? = nil) {
        self.title = status.reasonPhrase
        self.status = Int(status.code)
        self.detail = detail
        self.errors = errors.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func notFound(_ what: String) -> Problem {
        Problem(.notFound, "No \(what) has this id, or it was erased.")
    }

    /// 422 listing every field refused.
    static func invalid(_ errors: [FieldError]) -> Problem {
        Problem(
            .unprocessableEntity, errors.count == 1 ? "One field was refused." : "\(errors.count) fields were refused.",
            errors: errors)
    }

    static func invalid(_ field: String, _ reason: String) -> Problem {
        invalid([FieldError(field: field, reason: reason)])
    }

    /// The problem for any error thrown while answering an API request. A 500 tells only a reference the operator
    /// finds in the logs.
    static func from(_ error: any Error, logger: Logger) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let server as ServerError:
            if let problem = server.underlyingError as? Problem { return problem }
            if let decoding = server.underlyingError as? DecodingError {
                if case .dataCorrupted(let context) = decoding, context.codingPath.isEmpty {
                    return Problem(.badRequest, "The request could not be read: \(context.debugDescription)")
                }
                return from(decoding, in: server.requestBody == nil ? "query" : "body")
            }
            if server.underlyingError is any AbortError || server.httpStatus.code >= 500 {
                return from(server.underlyingError, logger: logger)
            }
            // What the generated server refused before our code ran, with the status it chose: a missing or
            // malformed parameter or header (400), a body that is not JSON (415), an Accept it cannot serve (406).
            let status = HTTPResponseStatus(statusCode: server.httpStatus.code)
            switch status {
            case .unsupportedMediaType:
                return Problem(status, "Send the body as application/json. (\(server.causeDescription))")
            case .notAcceptable:
                return Problem(status, "This operation answers in application/json only. (\(server.causeDescription))")
            default:
                return Problem(status, "\(server.causeDescription): \(server.underlyingError)")
            }
        case let abort as any AbortError:
            return Problem(abort.status, abort.reason)
        default:
            let reference = Tokens.random(bytes: 6)
            logger.error("API request failed", metadata: ["reference": .string(reference), "error": "\(error)"])
            return Problem(.internalServerError, "Something failed on our side; the logs know it as \(reference).")
        }
    }

    private static func from(_ error: DecodingError, in part: String) -> Problem {
        func path(_ codingPath: [any CodingKey], _ last: String? = nil) -> String {
            let parts = codingPath.map { $0.intValue.map { "\($0)" } ?? $0.stringValue } + (last.map { [$0] } ?? [])
            return ([part] + parts).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .invalid(path(context.codingPath, key.stringValue), "Required.")
        case .valueNotFound(_, let context):
            return .invalid(path(context.codingPath), "Must not be null.")
        case .typeMismatch(let type, let context):
            return .invalid(path(context.codingPath), "Expected \(typeName(type)). \(context.debugDescription)")
        case .dataCorrupted(let context):
            return .invalid(path(context.codingPath), context.debugDescription)
        @unknown default:
            return Problem(.badRequest, "\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is Double.Type: return "a number"
        default: return "a \(type)"
        }
    }

    func response() -> Response {
        let response = Response(status: HTTPResponseStatus(statusCode: status))
        response.headers.contentType = HTTPMediaType(type: "application", subType: "problem+json")
        response.body = .init(data: (try? Self.encoder.encode(self)) ?? Data())
        if status == 401 { response.headers.replaceOrAdd(name: .wwwAuthenticate, value: "Bearer") }
        return response
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// Collects the refused fields of a request body, to answer all of them at once.
struct Validation {
    private(set) var errors: [Problem.FieldError] = []

    mutating func fail(_ field: String, _ reason: String) {
        errors.append(.init(field: field, reason: reason))
    }

    /// A text field's length, counted in characters, after trimming.
    mutating func text(_ value: String?, _ field: String, min: Int = 0, max: Int) {
        guard let value else {
            if min > 0 { fail(field, "Required.") }
            return
        }
        let count = value.trimmed.count
        if count < min { fail(field, min == 1 ? "Must not be empty." : "At least \(min) characters.") }
        if count > max { fail(field, "At most \(max) characters.") }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\r" && $0 != "\t" }) {
            fail(field, "Control characters are not allowed.")
        }
    }

    mutating func email(_ value: String, _ field: String) {
        if !EmailAddress.isValid(value) { fail(field, "Not a valid email address.") }
    }

    func check() throws {
        if !errors.isEmpty { throw Problem.invalid(errors) }
    }
}

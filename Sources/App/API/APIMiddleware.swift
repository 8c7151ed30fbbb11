import Crypto
import Fluent
import Vapor

/// The request being answered, for the generated handlers, which see only their typed input.
enum APIContext {
    @TaskLocal static var request: Request?
    @TaskLocal static var token: ApiToken?
}

/// In front of every `/api/v1` operation: the token and its scope, the body read once (size-limited), the
/// `Idempotency-Key` of a POST, and every error answered as problem+json.
struct APIMiddleware: AsyncMiddleware {
    static let maxBody = 1 << 20
    /// How long a key is remembered (the scheduler removes older ones).
    static let idempotencyWindow: TimeInterval = 86_400

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            let token = try await authenticate(request)
            if request.method == .POST {
                // The generated handlers stream the body; a request without one must not reach them.
                guard let body = try await request.body.collect(max: Self.maxBody).get(), body.readableBytes > 0
                else { throw Problem(.badRequest, "This operation needs a JSON body.") }
                try Self.refuseNulls(in: body)
                if let key = request.headers.first(name: "Idempotency-Key") {
                    return try await idempotent(request, key: key, body: body, token: token, next: next)
                }
            }
            return try await run(request, token: token, next: next)
        } catch {
            return Self.problem(error, request)
        }
    }

    static func problem(_ error: any Error, _ request: Request) -> Response {
        // A path the API serves, asked with another method: 405 and what it allows (RFC 9110 §15.5.6).
        if request.route == nil, (error as? any AbortError)?.status == .notFound {
            let allowed = allowedMethods(for: request.url.path, in: request.application.routes)
            if !allowed.isEmpty {
                let response = Problem(
                    .methodNotAllowed, "This path answers \(allowed.joined(separator: ", ")) only."
                ).response()
                response.headers.replaceOrAdd(name: .allow, value: allowed.joined(separator: ", "))
                return response
            }
        }
        if let abort = error as? any AbortError, abort.status == .payloadTooLarge {
            return Problem(.payloadTooLarge, "The body may be at most \(maxBody / 1024) KiB.").response()
        }
        return Problem.from(error, logger: request.logger).response()
    }

    /// Fields the contract lets a client send as `null`.
    static let nullable: Set<String> = ["job_id"]

    /// A `null` where the contract asks for a value is refused, not read as "absent" as the generated decoder
    /// would: a client that sends `"location": null` has a bug worth hearing about.
    static func refuseNulls(in body: ByteBuffer) throws {
        guard
            let json = try? JSONSerialization.jsonObject(
                with: Data(body.readableBytesView), options: [.fragmentsAllowed])
        else { return }  // Not JSON: the generated decoder says so with its own words.
        var fields: [Problem.FieldError] = []
        func walk(_ value: Any, _ path: String, top: Bool) {
            if let object = value as? [String: Any] {
                for (key, child) in object.sorted(by: { $0.key < $1.key }) {
                    if child is NSNull {
                        if !(top && nullable.contains(key)) {
                            fields.append(
                                .init(field: "\(path).\(key)", reason: "Must not be null; leave it out instead."))
                        }
                    } else {
                        walk(child, "\(path).\(key)", top: false)
                    }
                }
            } else if let array = value as? [Any] {
                for (index, child) in array.enumerated() {
                    if child is NSNull {
                        fields.append(.init(field: "\(path).\(index)", reason: "Must not be null."))
                    } else {
                        walk(child, "\(path).\(index)", top: false)
                    }
                }
            }
        }
        walk(json, "body", top: true)
        if !fields.isEmpty { throw Problem.invalid(fields) }
    }

    /// What makes two requests "the same" for an idempotency key: method, path, query and body, byte for byte.
    static func requestHash(method: String, path: String, query: String?, body: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("\(method) \(path)?\(query ?? "")\n".utf8))
        hasher.update(data: body)
        return hasher.finalize().hexString
    }

    static func allowedMethods(for path: String, in routes: Routes) -> [String] {
        let segments = path.split(separator: "/").map(String.init)
        let methods = routes.all.filter { route in
            route.path.count == segments.count
                && zip(route.path, segments).allSatisfy { component, segment in
                    if case .constant(let constant) = component { return constant == segment }
                    return true
                }
        }.map(\.method.rawValue)
        return Set(methods).sorted()
    }

    private func run(_ request: Request, token: ApiToken, next: any AsyncResponder) async throws -> Response {
        try await APIContext.$request.withValue(request) {
            try await APIContext.$token.withValue(token) { try await next.respond(to: request) }
        }
    }

    /// The token named by the bearer header, alive and allowed to do this.
    private func authenticate(_ request: Request) async throws -> ApiToken {
        guard let presented = request.headers.bearerAuthorization?.token,
            let token = try await ApiToken.query(on: request.db).filter(\.$tokenHash == Tokens.hash(presented))
                .filter(\.$revokedAt == nil).first()
        else {
            throw Problem(
                .unauthorized,
                "Send a valid API token as `Authorization: Bearer <token>`; an admin creates one under Administration › API tokens."
            )
        }
        let needed = Self.scope(for: request)
        guard token.scope >= needed else {
            throw Problem(
                .forbidden, "This token may \(token.scope.rawValue); this request needs a \(needed.rawValue) token.")
        }
        // Written at most once a minute: a busy integration must not turn every read into a write.
        let now = request.now
        if token.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
            token.lastUsedAt = now
            try await token.save(on: request.db)
        }
        return token
    }

    static func scope(for request: Request) -> ApiToken.Scope {
        if request.method == .GET || request.method == .HEAD { return .read }
        return request.url.path.hasSuffix("/suppressions") ? .admin : .write
    }

    /// Runs the request once per key: a retry with the same body gets the first answer again, another body with
    /// the same key is refused, and a retry while the first is still running is told so.
    private func idempotent(
        _ request: Request, key: String, body: ByteBuffer, token: ApiToken, next: any AsyncResponder
    ) async throws -> Response {
        guard (1...200).contains(key.count), key.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
            throw Problem.invalid("header.Idempotency-Key", "1 to 200 ASCII characters.")
        }
        let tokenID = try token.requireID()
        let requestHash = Self.requestHash(
            method: request.method.rawValue, path: request.url.path, query: request.url.query,
            body: Array(body.readableBytesView))
        let db = request.db
        try await IdempotencyRecord.query(on: db).filter(\.$token.$id == tokenID).filter(\.$key == key)
            .filter(\.$createdAt < request.now - Self.idempotencyWindow).delete()
        let record = IdempotencyRecord(tokenID: tokenID, key: key, requestHash: requestHash, now: request.now)
        do {
            try await record.create(on: db)
        } catch {
            guard
                let first = try await IdempotencyRecord.query(on: db).filter(\.$token.$id == tokenID)
                    .filter(\.$key == key).first()
            else { throw error }
            guard first.requestHash == requestHash else {
                throw Problem(
                    .unprocessableEntity,
                    "This Idempotency-Key was already used for another request; use a new key for a new request.",
                    errors: [.init(field: "header.Idempotency-Key", reason: "Already used with another body.")])
            }
            guard let status = first.status else {
                throw Problem(.conflict, "The first request with this Idempotency-Key is still running; retry later.")
            }
            let replay = Response(status: HTTPResponseStatus(statusCode: status))
            if let type = first.contentType { replay.headers.replaceOrAdd(name: .contentType, value: type) }
            replay.body = .init(string: first.body ?? "")
            replay.headers.replaceOrAdd(name: "Idempotent-Replayed", value: "true")
            return replay
        }
        let response: Response
        do {
            response = try await run(request, token: token, next: next)
        } catch {
            response = Self.problem(error, request)
        }
        if response.status.code >= 500 {
            // Nothing was done for sure: the same key may try again.
            try? await record.delete(on: db)
            return response
        }
        // Read once to be kept, then answered from the copy: a streamed body cannot be read twice.
        let stored = try await response.body.collect(on: request.eventLoop).get()
        response.body = stored.map { .init(buffer: $0) } ?? .empty
        record.status = Int(response.status.code)
        record.contentType = response.headers.first(name: .contentType)
        record.body = stored.map { String(buffer: $0) } ?? ""
        try await record.save(on: db)
        return response
    }
}

import Fluent
import Foundation
import OpenAPIRuntime
import SQLKit
import Vapor
import VivierAPI
import VivierCore

/// `/api/v1`: the operations of `Resources/API/openapi.yaml`, whose types and routing are generated from it. Each
/// operation checks what the contract cannot say (lengths, addresses, states), then calls the same services as
/// the recruiter UI, so an application posted here is acknowledged exactly like one from the career site.
struct APIService: APIProtocol {
    /// The request being answered and the token it carries (set by `APIMiddleware`).
    var context: (request: Request, token: ApiToken) {
        get throws {
            guard let request = APIContext.request, let token = APIContext.token else {
                throw Problem(.internalServerError, "The API was called outside its middleware.")
            }
            return (request, token)
        }
    }

    /// The admin who created the token: what the API does is on the timeline in their name.
    func actor(_ token: ApiToken, on db: any Database) async throws -> User? {
        try await User.find(token.$createdBy.id, on: db)
    }

    static func id(_ raw: String, _ what: String) throws -> UUID {
        guard let id = UUID(uuidString: raw) else { throw Problem.notFound(what) }
        return id
    }
}

/// A position in a list: the sort date and id of the last record of the page before.
struct Cursor: Equatable {
    var at: Date
    var id: UUID

    init(at: Date, id: UUID) {
        self.at = at
        self.id = id
    }

    init?(_ raw: String) {
        guard let data = Data(base64URL: raw), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "|")
        guard parts.count == 2, let bits = UInt64(parts[0], radix: 16), let id = UUID(uuidString: String(parts[1]))
        else { return nil }
        self.at = Date(timeIntervalSince1970: Double(bitPattern: bits))
        self.id = id
    }

    /// The exact bits of the date, so the next page starts exactly after it.
    var encoded: String {
        Data("\(String(at.timeIntervalSince1970.bitPattern, radix: 16))|\(id.lowercasedString)".utf8)
            .base64URLEncoded
    }

    static func parse(_ raw: String?) throws -> Cursor? {
        guard let raw else { return nil }
        guard let cursor = Cursor(raw) else {
            throw Problem.invalid("query.cursor", "Not a cursor from this API: pass the `next_cursor` of a page.")
        }
        return cursor
    }
}

/// One page of a keyset-paginated list: ordered by a date then the id, so records added meanwhile never shift it.
struct Paging {
    var cursor: Cursor?
    var limit: Int
    var newestFirst = false

    init(cursor: String?, limit: Int?, newestFirst: Bool = false) throws {
        self.cursor = try Cursor.parse(cursor)
        let limit = limit ?? 50
        guard (1...200).contains(limit) else { throw Problem.invalid("query.limit", "Between 1 and 200.") }
        self.limit = limit
        self.newestFirst = newestFirst
    }

    /// `query` from the cursor on, one record more than a page to know whether another page follows. The position is
    /// compared with the cursor row's own stored values, read in the same statement: a date that went through a
    /// Double and back could miss its row by one unit in the last place (the cursor's date is the fallback when that
    /// row is gone).
    func apply<M: Model>(_ query: QueryBuilder<M>, dateKey: FieldKey = "created_at") -> QueryBuilder<M> {
        let table = M.schemaOrAlias, column = dateKey.description
        if let cursor {
            let beyond = newestFirst ? "<" : ">"
            query.filter(
                .custom(
                    SQLQueryString(
                        """
                        (\(ident: table).\(ident: column), \(ident: table).id) \(unsafeRaw: beyond) (
                          COALESCE((SELECT cursor_row.\(ident: column) FROM \(ident: table) cursor_row
                                    WHERE cursor_row.id = \(bind: cursor.id)), \(bind: cursor.at)),
                          \(bind: cursor.id))
                        """)))
        }
        let direction: DatabaseQuery.Sort.Direction = newestFirst ? .descending : .ascending
        return query.sort(.path([dateKey], schema: table), direction).sort(.path([.id], schema: table), direction)
            .limit(limit + 1)
    }

    /// The page's records and the cursor of the next page, if there is one.
    func split<M: Model>(_ rows: [M], date: (M) -> Date?) throws -> (rows: [M], next: String?) where M.IDValue == UUID {
        guard rows.count > limit else { return (rows, nil) }
        let page = Array(rows.prefix(limit))
        let last = page[page.count - 1]
        return (page, Cursor(at: date(last) ?? .distantPast, id: try last.requireID()).encoded)
    }
}

extension UUID {
    var api: String { lowercasedString }
}

/// RFC 3339 dates as the API reads and writes them: written in UTC to the second, read with or without fractional
/// seconds and in any offset.
struct APIDates: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    func decode(_ text: String) throws -> Date {
        guard let date = Self.parse(text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [], debugDescription: "Expected an RFC 3339 date-time, e.g. 2026-12-03T14:30:00+01:00.")
            )
        }
        return date
    }

    /// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (RFC 3339 §5.6), read field by field: any year, any offset.
    static func parse(_ text: String) -> Date? {
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= chars.count else { return nil }
            var value = 0
            for c in chars[from..<from + count] {
                guard (48...57).contains(c) else { return nil }
                value = value * 10 + Int(c - 48)
            }
            return value
        }
        func char(_ at: Int, _ expected: String) -> Bool {
            at < chars.count && expected.utf8.contains(chars[at])
        }
        guard let year = number(0, 4), char(4, "-"), let month = number(5, 2), char(7, "-"), let day = number(8, 2),
            char(10, "Tt "), let hour = number(11, 2), char(13, ":"), let minute = number(14, 2), char(16, ":"),
            let second = number(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if char(index, ".") {
            var scale = 0.1
            index += 1
            let start = index
            while let digit = number(index, 1) {
                fraction += Double(digit) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if char(index, "Zz") {
            index += 1
        } else if char(index, "+-"), let h = number(index + 1, 2), char(index + 3, ":"), let m = number(index + 4, 2),
            h < 24, m < 60
        {
            offset = (h * 3600 + m * 60) * (chars[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == chars.count else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(
            year: year, month: month, day: day, hour: hour, minute: minute, second: min(second, 59))
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else {
            return nil
        }
        return date.addingTimeInterval(fraction - Double(offset))
    }
}

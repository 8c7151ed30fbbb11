import Vapor
import VivierCore

/// What every page template receives besides its own content: the words in the page's language, who is signed in,
/// the form token and a flash message left by the previous action.
struct Page<Content: Encodable>: Encodable {
    var title: String
    var lang: String
    var otherLang: String
    var t: [String: String]
    var user: UserSummary?
    var csrf: String
    var flash: String?
    var flashKind: String
    var path: String
    /// The company's name, colour and logo, for the career site and the portal.
    var brand: Brand
    var content: Content

    struct UserSummary: Encodable {
        var name: String
        var role: String
        var isAdmin: Bool
        var canManage: Bool
    }
}

/// One choice of a `<select>` or a filter.
struct Choice: Encodable {
    var value: String
    var label: String
    var selected: Bool
}

enum FlashKind: String {
    case success, error
}

extension Request {
    static let flashCookie = "vivier_flash"

    /// Renders a Leaf page, consuming the flash message. Templates never touch the database: they get `content`.
    func page(_ template: String, title: String, status: HTTPStatus = .ok, _ content: some Encodable) async throws
        -> Response
    {
        let flash = cookies[Self.flashCookie]?.string.split(separator: ":", maxSplits: 1).map(String.init)
        let page = Page(
            title: title, lang: language.rawValue, otherLang: language == .fr ? "en" : "fr",
            t: application.translations.table(language),
            user: currentUser.map {
                .init(name: $0.name, role: t("role.\($0.role.rawValue)"), isAdmin: $0.isAdmin, canManage: $0.canManage)
            },
            csrf: csrfToken, flash: flash.flatMap { $0.count == 2 ? flashText($0[1]) : nil },
            flashKind: flash?.first ?? "",
            path: url.path, brand: try await application.brand(on: db), content: content)
        let response = try await view.render(template, page).encodeResponse(status: status, for: self).get()
        if flash != nil { response.cookies[Self.flashCookie] = .expired }
        return response
    }

    /// A whole number within bounds from a form field into `field`, or the field's message in `errors`; `raw`
    /// keeps what was typed, to show it again.
    func formNumber(
        _ key: String, _ value: String?, _ range: ClosedRange<Int>, into field: inout Int,
        raw: inout [String: String], errors: inout [String: String]
    ) {
        let text = (value ?? "").trimmed
        raw[key] = text
        if let number = Int(text), range.contains(number) {
            field = number
        } else {
            errors[key] = String(format: t("error.number_between"), range.lowerBound, range.upperBound)
        }
    }

    /// A flash key, or `key|number` for messages that count something ("12 applications rejected").
    private func flashText(_ value: String) -> String {
        let parts = value.split(separator: "|", maxSplits: 1).map(String.init)
        guard parts.count == 2, let number = Int(parts[1]) else { return t(value) }
        return String(format: t(parts[0]), number)
    }

    /// A 303 redirect after a successful (or refused) action, carrying a message key for the next page.
    func redirect(to path: String, flash key: String? = nil, kind: FlashKind = .success) -> Response {
        let response = redirect(to: path, redirectType: .normal)
        if let key {
            response.cookies[Self.flashCookie] = HTTPCookies.Value(
                string: "\(kind.rawValue):\(key)", maxAge: 60, path: "/", isSecure: application.config.production,
                isHTTPOnly: true, sameSite: .lax)
        }
        return response
    }
}

/// Previous / next links of a list cut into pages, keeping the list's other query parameters.
struct Pagination: Encodable {
    var page: Int
    var pages: Int
    var previousURL: String?
    var nextURL: String?

    init(page requested: Int, total: Int, size: Int, path: String, query: [(String, String)]) {
        pages = max(1, (total + size - 1) / size)
        page = min(max(1, requested), pages)
        func url(_ number: Int) -> String {
            var components = URLComponents()
            components.path = path
            components.queryItems = (query + [("page", String(number))]).filter { !$0.1.isEmpty }
                .map { URLQueryItem(name: $0.0, value: $0.1) }
            return components.string ?? path
        }
        previousURL = page > 1 ? url(page - 1) : nil
        nextURL = page < pages ? url(page + 1) : nil
    }

    func offset(size: Int) -> Int { (page - 1) * size }
}

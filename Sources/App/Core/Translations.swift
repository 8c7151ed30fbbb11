import Foundation
import Vapor
import VivierCore

/// The product's words in each language, loaded once from `Resources/Locales/<lang>.json`. A key missing from one
/// language fails the boot, so no page ever shows a raw key to a candidate.
struct Translations: Sendable {
    private let tables: [Language: [String: String]]
    private let templateTables: [Language: [String: String]]

    init(directory: URL) throws {
        var tables: [Language: [String: String]] = [:]
        for language in Language.allCases {
            let file = directory.appendingPathComponent("\(language.rawValue).json")
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw AppConfig.Invalid(
                    variable: "Resources/Locales",
                    problem: "missing \(file.path): run Vivier from its checkout directory")
            }
            tables[language] = try JSONDecoder().decode([String: String].self, from: data)
        }
        let keys = tables.values.map { Set($0.keys) }
        if let first = keys.first, let mismatch = keys.first(where: { $0 != first }) {
            let missing = first.symmetricDifference(mismatch).sorted().prefix(10)
            throw AppConfig.Invalid(
                variable: "Resources/Locales",
                problem: "fr.json and en.json differ on keys: \(missing.joined(separator: ", "))")
        }
        self.tables = tables
        self.templateTables = tables.mapValues { table in
            Dictionary(uniqueKeysWithValues: table.map { ($0.key.replacingOccurrences(of: ".", with: "_"), $0.value) })
        }
    }

    /// The words of one language as templates read them: `#(t.apply_title)` for the key `apply.title` (Leaf reads
    /// dots as member access).
    func table(_ language: Language) -> [String: String] { templateTables[language] ?? [:] }

    func text(_ key: String, _ language: Language) -> String { tables[language]?[key] ?? key }
}

extension Application {
    private struct TranslationsKey: StorageKey {
        typealias Value = Translations
    }

    var translations: Translations {
        get {
            guard let translations = storage[TranslationsKey.self] else { fatalError("translations not loaded") }
            return translations
        }
        set { storage[TranslationsKey.self] = newValue }
    }
}

extension Request {
    private struct LanguageKey: StorageKey {
        typealias Value = Language
    }

    /// The language of this request's pages, chosen by `LanguageMiddleware`.
    var language: Language {
        get { storage[LanguageKey.self] ?? application.config.defaultLanguage }
        set { storage[LanguageKey.self] = newValue }
    }

    func t(_ key: String) -> String { application.translations.text(key, language) }
}

/// Picks the page language: an explicit `?lang=` (remembered in a cookie), the cookie, the signed-in user's choice,
/// the browser's `Accept-Language`, the installation's default.
struct LanguageMiddleware: AsyncMiddleware {
    static let cookie = "vivier_lang"

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let explicit = request.query[String.self, at: "lang"].flatMap(Language.init(rawValue:))
        let remembered: Language? = request.cookies[Self.cookie].flatMap { Language(rawValue: $0.string) }
        let chosen: Language? = request.currentUser.flatMap { Language(rawValue: $0.locale) }
        let browser: Language? = Language.negotiate(acceptLanguage: request.headers.first(name: .acceptLanguage))
        request.language = explicit ?? remembered ?? chosen ?? browser ?? request.application.config.defaultLanguage
        let response = try await next.respond(to: request)
        if let explicit {
            response.cookies[Self.cookie] = HTTPCookies.Value(
                string: explicit.rawValue, maxAge: 365 * 24 * 3600, path: "/",
                isSecure: request.application.config.production,
                isHTTPOnly: true, sameSite: .lax)
        }
        return response
    }
}

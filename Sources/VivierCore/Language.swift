import Foundation

/// The languages Vivier speaks. Every candidate-facing text exists in each of them.
public enum Language: String, CaseIterable, Codable, Sendable {
    case fr
    case en

    /// Picks the best supported language from an HTTP `Accept-Language` header value, or nil.
    public static func negotiate(acceptLanguage header: String?) -> Language? {
        guard let header else { return nil }
        let ranked = header.split(separator: ",").compactMap { item -> (Language, Double)? in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = parts.first?.lowercased(), let language = Language(rawValue: String(tag.prefix(2)))
            else { return nil }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (language, quality)
        }
        return ranked.filter { $0.1 > 0 }.max { $0.1 < $1.1 }?.0
    }
}

import Foundation

/// Text normalisations shared by storage, search and URLs.
public enum Text {
    /// Lowercased, accents removed: "Hélène" → "helene". Both the search index and queries go through it, so a
    /// search is accent-insensitive on every engine.
    public static func fold(_ text: String) -> String {
        text.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil)
            .replacingOccurrences(of: "œ", with: "oe")
            .replacingOccurrences(of: "æ", with: "ae")
            .replacingOccurrences(of: "ß", with: "ss")
    }

    /// A URL-safe slug: "Développeur·se iOS (H/F)" → "developpeur-se-ios-h-f".
    public static func slug(_ text: String, maxLength: Int = 80) -> String {
        var slug = ""
        var pendingDash = false
        for scalar in fold(text).unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash && !slug.isEmpty { slug.append("-") }
                pendingDash = false
                slug.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
            if slug.count >= maxLength { break }
        }
        return slug.isEmpty ? "job" : slug
    }

    /// Search terms from a user query: folded words of letters and digits, at most 8 of them.
    /// Text as the search index keeps it: folded, cut into the same words `searchTerms` makes of a query, so both
    /// engines see "Lefèvre-379457" or "helene.lefevre@example.com" as the words a person would type.
    public static func searchable(_ text: String) -> String {
        fold(text).split { !($0.isLetter || $0.isNumber) }.joined(separator: " ")
    }

    public static func searchTerms(_ query: String) -> [String] {
        fold(query)
            .split { !($0.isLetter || $0.isNumber) }
            .map(String.init)
            .prefix(8)
            .map { $0 }
    }
}

/// Email addresses as people are identified by them.
public enum EmailAddress {
    /// Trimmed and lowercased. Vivier treats the whole address as case-insensitive: no provider candidates use
    /// distinguishes case in the local part, and merging people by email depends on it.
    public static func normalize(_ raw: String) -> String {
        raw.trimmed.lowercased()
    }

    /// A pragmatic check of an address a person typed: one `@`, a dotted domain, no spaces or control characters,
    /// within RFC 5321 length limits.
    public static func isValid(_ raw: String) -> Bool {
        let address = normalize(raw)
        guard address.utf8.count <= 254,
            !address.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 32 } ?? false })
        else { return false }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let local = parts.first, let domain = parts.last else { return false }
        guard !local.isEmpty, local.utf8.count <= 64, !local.hasPrefix("."), !local.hasSuffix("."),
            !local.contains("..")
        else { return false }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
        }
    }
}

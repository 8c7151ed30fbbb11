import Foundation
import Ink

/// Markdown written by recruiters (job descriptions, later templates) turned into safe HTML and plain text.
public enum Markdown {
    /// HTML from Markdown. Raw HTML in the source is shown as text, never interpreted, and links keep only safe
    /// schemes (http, https, mailto, relative) — ASVS 1.3.5.
    public static func html(_ source: String) -> String {
        let escaped =
            source
            .replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
        var parser = MarkdownParser()
        parser.addModifier(
            Modifier(target: .links) { html, _ in
                isSafeLink(html) ? html : "<span>\(html.strippingTags)</span>"
            })
        parser.addModifier(
            Modifier(target: .images) { _, _ in "" })
        return parser.html(from: escaped)
    }

    /// A readable plain-text version of Markdown: what an email's text part or a search index needs.
    public static func plainText(_ source: String) -> String {
        var html = html(source)
        for block in [
            "</p>", "</h1>", "</h2>", "</h3>", "</h4>", "</h5>", "</h6>", "</ul>", "</ol>", "</blockquote>", "</pre>",
        ] {
            html = html.replacingOccurrences(of: block, with: "\n\n")
        }
        html = html.replacingOccurrences(of: "<li>", with: "- ").replacingOccurrences(of: "</li>", with: "\n")
            .replacingOccurrences(of: "<br>", with: "\n")
        while html.contains("\n\n\n") { html = html.replacingOccurrences(of: "\n\n\n", with: "\n\n") }
        return html.strippingTags
            .replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
            .trimmed
    }

    private static func isSafeLink(_ anchor: String) -> Bool {
        guard let start = anchor.range(of: "href=\"") else { return false }
        let href = anchor[start.upperBound...].prefix { $0 != "\"" }.lowercased()
        if href.hasPrefix("http://") || href.hasPrefix("https://") || href.hasPrefix("mailto:") { return true }
        // Relative links: no scheme before the first slash, question mark or hash.
        let beforePath = href.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return !beforePath.contains(":")
    }
}

extension String {
    /// The text with every `<...>` tag removed.
    var strippingTags: String {
        var out = ""
        var inTag = false
        for character in self {
            if character == "<" {
                inTag = true
            } else if character == ">" && inTag {
                inTag = false
            } else if !inTag {
                out.append(character)
            }
        }
        return out
    }

    /// The string escaped for an HTML text node or a quoted attribute value.
    public var htmlEscaped: String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for character in self {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

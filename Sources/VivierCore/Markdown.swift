import Foundation
import Ink

/// Markdown written by recruiters (job descriptions, later templates) turned into safe HTML and plain text.
public enum Markdown {
    /// HTML from Markdown. Raw HTML in the source is shown as text, never interpreted, and links keep only safe
    /// schemes (http, https, mailto, relative) — ASVS 1.3.5.
    ///
    /// A bracket inside another one is escaped: Ink tries every way to read nested brackets as links, in time that doubles
    /// with each one (25 of them took minutes — a job page that never answers). Found by fuzzing.
    public static func html(_ source: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(source.utf8.count)
        var depth = 0
        var afterBackslash = false
        var previous: Character = "\n"
        for character in source {
            defer { previous = character }
            if afterBackslash {
                afterBackslash = false
                escaped.append(character == "<" ? "&lt;" : character == "&" ? "&amp;" : String(character))
                continue
            }
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case "\\":
                afterBackslash = true
                escaped.append(character)
            case "[":
                escaped += depth > 0 ? "\\[" : "["
                depth += 1
            case "]" where depth > 1:  // the end of an inner bracket: text as well
                depth -= 1
                escaped += "\\]"
            case "]":
                depth = max(depth - 1, 0)
                escaped.append(character)
            case let newline where newline.isNewline && previous.isNewline:
                depth = 0  // a blank line ends the paragraph, and any bracket left open in it
                escaped.append(newline)
            default: escaped.append(character)
            }
        }
        var parser = MarkdownParser()
        parser.addModifier(
            Modifier(target: .links) { html, _ in
                isSafeLink(html) ? unescapingHref(html) : "<span>\(html.strippingTags)</span>"
            })
        parser.addModifier(
            Modifier(target: .images) { _, _ in "" })
        return parser.html(from: escaped)
    }

    /// A readable plain-text version of Markdown: what an email's text part or a search index needs. Lists keep
    /// their bullets and numbers, and a link whose text is not its address keeps the address in brackets.
    public static func plainText(_ source: String) -> String {
        plainText(fromHTML: html(source))
    }

    /// The plain text of HTML this type produced (one Markdown parse gives both parts of an email).
    public static func plainText(fromHTML html: String) -> String {
        var out = ""
        var lists: [Int?] = []  // nil: bullets; a number: the next item's number
        var href: String?
        var linkText = ""
        // Tags are found scalar by scalar: text can begin with a combining accent, which as a Character would
        // swallow the `>` before it (found by fuzzing).
        var rest = Substring(html)
        while let open = rest.unicodeScalars.firstIndex(of: "<") {
            let text = rest[..<open]
            if href != nil { linkText += text } else { out += text }
            guard let close = rest.unicodeScalars[open...].firstIndex(of: ">") else { break }
            let tag = rest[rest.unicodeScalars.index(after: open)..<close]
            rest = rest[rest.unicodeScalars.index(after: close)...]
            let name = tag.prefix { !$0.isWhitespace }.lowercased()
            switch name {
            case "ul": lists.append(nil)
            case "ol": lists.append(1)
            case "/ul", "/ol":
                if !lists.isEmpty { lists.removeLast() }
                out += "\n"
            case "li":
                out += String(repeating: "  ", count: max(lists.count - 1, 0))
                if let number = lists.last ?? nil {
                    out += "\(number). "
                    lists[lists.count - 1] = number + 1
                } else {
                    out += "- "
                }
            case "/li": out += "\n"
            case "br": out += "\n"
            case "/p", "/h1", "/h2", "/h3", "/h4", "/h5", "/h6", "/blockquote", "/pre": out += "\n\n"
            case "a":
                if let start = tag.range(of: "href=\"") {
                    href = String(tag[start.upperBound...].prefix { $0 != "\"" })
                    linkText = ""
                }
            case "/a":
                if let target = href {
                    out += linkText
                    let address = unescape(target)
                    if unescape(linkText) != address { out += " (" + target + ")" }
                }
                href = nil
            default: break
            }
        }
        out += rest
        // At most one blank line in a row, and none around the text.
        var collapsed = ""
        collapsed.reserveCapacity(out.utf8.count)
        var newlines = 0
        for character in out {
            if character == "\n" {
                newlines += 1
                if newlines <= 2 { collapsed.append(character) }
            } else {
                newlines = 0
                collapsed.append(character)
            }
        }
        return unescape(collapsed).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The five entities Ink writes, decoded in one pass (`&amp;lt;` stays `&lt;`).
    private static func unescape(_ text: some StringProtocol) -> String {
        guard text.contains("&") else { return String(text) }
        let entities: [(Substring, Character)] = [
            ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&"),
        ]
        var out = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            out += rest[..<ampersand]
            rest = rest[ampersand...]
            if let (entity, character) = entities.first(where: { rest.hasPrefix($0.0) }) {
                out.append(character)
                rest = rest.dropFirst(entity.count)
            } else {
                out.append("&")
                rest = rest.dropFirst()
            }
        }
        return out + rest
    }

    /// A merged value inside a link target keeps the backslashes that escaped it for Markdown (`abc\_def`); a URL
    /// never holds a backslash before punctuation, so they go.
    private static func unescapingHref(_ anchor: String) -> String {
        guard let start = anchor.range(of: "href=\""), let end = anchor[start.upperBound...].firstIndex(of: "\"")
        else { return anchor }
        var href = ""
        var escaping = false
        for character in anchor[start.upperBound..<end] {
            if escaping {
                if !(character.isASCII && character.isPunctuation || character.isSymbol) { href.append("\\") }
                href.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                href.append(character)
            }
        }
        if escaping { href.append("\\") }
        return String(anchor[..<start.upperBound]) + href + String(anchor[end...])
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
        guard utf8.contains(where: { $0 == 38 || $0 == 60 || $0 == 62 || $0 == 34 || $0 == 39 }) else { return self }
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

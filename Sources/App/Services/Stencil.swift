import Foundation
import VivierCore

/// A campaign message rendered once with markers in place of what differs from one person to the next (names,
/// personal links, click counters), then cut at the markers: each recipient's message is the pieces joined with
/// their values. Values are escaped as the renderer would have (HTML entities in the HTML part, line breaks as
/// spaces), and the result is tested against rendering each person directly. The HTML part is put in its frame
/// here too, once: the framed page holds the subject (in its title) and an open pixel after the content as two more
/// markers.
struct Stencil: Sendable {
    enum Piece: Sendable {
        case literal(String)
        case value(Int)
        case click(Int)
    }

    let subject: [Piece]
    let text: [Piece]
    let html: [Piece]

    /// `context` builds the template's context from the four personal values it is given (markers here);
    /// `frame` wraps the HTML part, given its content and its subject.
    init(
        template: MessageTemplate.Compiled, links: [String: Int],
        frame: (_ html: String, _ subject: String) -> String,
        context: (String, String, String, String) -> [String: Any]
    ) {
        let nonce = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12)).lowercased()
        // Letters and digits only: nothing Markdown, HTML or a mail header would read as syntax.
        let names = ["vvf\(nonce)x", "vvl\(nonce)x", "vvn\(nonce)x"]
        let subjectMarker = "vvs\(nonce)x", pixelMarker = "vvo\(nonce)x"
        let urls = ["https://vivier.invalid/p\(nonce)", "https://vivier.invalid/u\(nonce)"]
        var rendered = template.render(context(names[0], names[1], urls[0], urls[1]))
        var markers: [(String, Piece)] = names.enumerated().map { ($1, .value($0)) }
        markers += [(urls[0], .value(3)), (urls[1], .value(4)), (subjectMarker, .value(5)), (pixelMarker, .value(6))]
        var html = rendered.html
        for (url, position) in links where Self.contains(html, href: url) {
            let marker = "https://vivier.invalid/c\(position)x\(nonce)"
            html = html.replacingOccurrences(of: "href=\"\(url.htmlEscaped)\"", with: "href=\"\(marker)\"")
            rendered.text = rendered.text.replacingOccurrences(of: url, with: marker)
            markers.append((marker, .click(position)))
        }
        // Full names contain the first name's marker only if the template is odd; markers never overlap.
        subject = Self.cut(rendered.subject, markers)
        text = Self.cut(rendered.text, markers)
        self.html = Self.cut(frame(html + pixelMarker, subjectMarker), markers)
    }

    private static func contains(_ html: String, href url: String) -> Bool {
        html.contains("href=\"\(url.htmlEscaped)\"")
    }

    private static func cut(_ string: String, _ markers: [(String, Piece)]) -> [Piece] {
        var pieces: [Piece] = []
        var rest = string[...]
        while true {
            let next = markers.compactMap { marker in rest.range(of: marker.0).map { ($0, marker.1) } }
                .min { $0.0.lowerBound < $1.0.lowerBound }
            guard let (range, piece) = next else { break }
            if range.lowerBound > rest.startIndex { pieces.append(.literal(String(rest[..<range.lowerBound]))) }
            pieces.append(piece)
            rest = rest[range.upperBound...]
        }
        if !rest.isEmpty { pieces.append(.literal(String(rest))) }
        return pieces
    }

    /// Text as the Markdown renderer writes it in HTML: `&`, `<` and `>` as entities, quotes as they are.
    static func asRenderedText(_ text: String) -> String {
        guard
            text.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") })
        else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }

    /// The person's message: subject, text and HTML (with `openPixel` after the content).
    func fill(
        firstName: String, lastName: String, preferencesURL: String, unsubscribeURL: String, openPixel: String,
        click: (Int) -> String
    ) -> (subject: String, text: String, html: String) {
        // As the Markdown renderer would write them: one line, and HTML-escaped in the HTML part.
        let plain = [firstName, lastName, "\(firstName) \(lastName)"].map {
            $0.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A })
                ? $0.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") : $0
        }
        let values = plain + [preferencesURL, unsubscribeURL]
        var clicks: [Int: String] = [:]
        func join(_ pieces: [Piece], _ values: [String], escaping: Bool) -> String {
            var out = ""
            out.reserveCapacity(
                pieces.reduce(0) {
                    if case .literal(let text) = $1 { $0 + text.utf8.count } else { $0 + 256 }
                })
            for piece in pieces {
                switch piece {
                case .literal(let text): out += text
                case .value(let index): out += values[index]
                case .click(let position):
                    if clicks[position] == nil { clicks[position] = click(position) }
                    out += escaping ? clicks[position]!.htmlEscaped : clicks[position]!
                }
            }
            return out
        }
        let subject = join(subject, values, escaping: false)
        let escaped =
            plain.map(Self.asRenderedText) + [
                preferencesURL.htmlEscaped, unsubscribeURL.htmlEscaped, subject.htmlEscaped, openPixel,
            ]
        return (subject, join(text, values, escaping: false), join(html, escaped, escaping: true))
    }
}

import Foundation
import Mustache

/// A message written by recruiters: a subject line and a Markdown body, both with Mustache merge tags.
///
/// Merged values are escaped for Markdown, and the Markdown renderer escapes HTML, so a candidate called
/// `<b>*Jo*</b>` reads as exactly that in both the text and the HTML part: no value can become markup. Tags that
/// would output raw text (`{{{x}}}`, `{{&x}}`), partials, delimiter changes and pragmas are refused, as is any name
/// the message's context does not offer.
public struct MessageTemplate: Sendable {
    public let subject: String
    public let body: String

    /// What went wrong in a template, in words a recruiter can act on.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var part: String
        public var line: Int
        public var message: String
        public var description: String { "\(part), line \(line): \(message)" }
    }

    public init(subject: String, body: String) {
        self.subject = subject
        self.body = body
    }

    /// Every problem of this template against the fields `schema` offers: empty when it can be saved.
    public func problems(against schema: TemplateSchema) -> [Problem] {
        var problems: [Problem] = []
        for (part, source, header) in [("subject", subject, Part.subject), ("body", body, Part.markdown)] {
            let found = Self.scan(source, part: part, schema: schema)
            problems += found
            // Whatever the tags' check let through must also parse: never a template saved that cannot be sent.
            if found.isEmpty, let line = Part.unreadableLine(header, source) {
                problems.append(
                    Problem(
                        part: part, line: line,
                        message: "this line cannot be read as a template (a tag must be followed by a space, "
                            + "a letter or punctuation)"))
            }
        }
        if subject.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append(Problem(part: "subject", line: 1, message: "the subject is empty"))
        }
        if subject.contains("\n") || subject.contains("\r") {
            problems.append(Problem(part: "subject", line: 1, message: "the subject must fit on one line"))
        }
        return problems
    }

    /// The rendered message: subject (one line), Markdown source, text and HTML parts.
    public struct Rendered: Sendable, Equatable {
        public var subject: String
        public var markdown: String
        public var text: String
        public var html: String
    }

    /// Merges `context` (dictionaries, arrays, strings, numbers, booleans) into the template.
    public func render(_ context: [String: Any]) throws -> Rendered {
        try compiled().render(context)
    }

    /// The template parsed once, for rendering it to many people (a campaign).
    public func compiled() throws -> Compiled {
        Compiled(subject: try Part(Part.subject, subject), body: try Part(Part.markdown, body))
    }

    /// One part parsed, after a line choosing how its values are escaped (a line of its own, so that a text
    /// starting with a combining accent does not merge with the tag's `}`). Mustache cannot parse a text whose last
    /// character is a lone `{` (it reads on for a tag that never comes): that brace is set aside and put back after
    /// rendering. Both found by fuzzing.
    struct Part {
        static let subject = "{{% CONTENT_TYPE: SUBJECT}}\n"
        static let markdown = "{{% CONTENT_TYPE: MARKDOWN}}\n"
        let template: MustacheTemplate
        let tail: String

        init(_ header: String, _ source: String) throws {
            MessageTemplate.registerContentTypes
            tail = source.hasSuffix("{") ? "{" : ""
            template = try MustacheTemplate(string: header + source.dropLast(tail.count))
        }

        /// The line of `source` Mustache stops reading at; nil when the part parses.
        static func unreadableLine(_ header: String, _ source: String) -> Int? {
            do {
                _ = try Part(header, source)
                return nil
            } catch let error as MustacheTemplate.ParserError {
                return max(error.context.lineNumber - 1, 1)  // the header is a line of its own
            } catch {
                return 1
            }
        }

        func render(_ context: [String: Any]) -> String { template.render(context) + tail }
    }

    public struct Compiled: @unchecked Sendable {
        let subject: Part
        let body: Part

        public func render(_ context: [String: Any]) -> Rendered {
            let renderedSubject = subject.render(context).split(whereSeparator: \.isNewline).joined(separator: " ")
                .trimmingCharacters(in: .whitespaces)
            let markdown = MessageTemplate.keepingLineBreaks(body.render(context))
            let html = Markdown.html(markdown)
            return Rendered(
                subject: renderedSubject, markdown: markdown, text: Markdown.plainText(fromHTML: html), html: html)
        }
    }

    /// People write emails line by line: a line break inside a paragraph ("À bientôt,⏎L'équipe") stays one,
    /// instead of Markdown's joining the lines.
    static func keepingLineBreaks(_ markdown: String) -> String {
        let lines = markdown.components(separatedBy: "\n")
        return lines.indices.map { index in
            let line = lines[index]
            let next = index + 1 < lines.count ? lines[index + 1] : ""
            let keep =
                !line.trimmingCharacters(in: .whitespaces).isEmpty
                && !next.trimmingCharacters(in: .whitespaces).isEmpty && !line.hasSuffix("  ")
            return keep ? line + "  " : line
        }.joined(separator: "\n")
    }

    // MARK: - Escaping

    private static let registerContentTypes: Void = {
        MustacheContentTypes.register(MarkdownText(), named: "MARKDOWN")
        MustacheContentTypes.register(SubjectText(), named: "SUBJECT")
    }()

    /// Values inside a Markdown body: every character Markdown could read as syntax is backslash-escaped, and line
    /// breaks become spaces so a value cannot start a heading or a list.
    struct MarkdownText: MustacheContentType {
        func escapeText(_ text: String) -> String {
            var out = ""
            for character in text {
                switch character {
                case "\\", "`", "*", "_", "[", "]", "(", ")", "#", "!", "|", "~", "{", "}": out += "\\\(character)"
                case "\r", "\n": out += " "
                default: out.append(character)
                }
            }
            return out
        }
    }

    /// Values in a subject: plain text on one line.
    struct SubjectText: MustacheContentType {
        func escapeText(_ text: String) -> String {
            text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
    }

    // MARK: - Checking tags

    private struct Section {
        var name: String
        var path: String?
    }

    private static func scan(_ source: String, part: String, schema: TemplateSchema) -> [Problem] {
        var problems: [Problem] = []
        var sections: [Section] = []
        var rest = Substring(source)
        var line = 1
        while let open = rest.range(of: "{{") {
            line += rest[..<open.lowerBound].filter(\.isNewline).count
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.range(of: "}}") else {
                problems.append(Problem(part: part, line: line, message: "a tag opened with {{ is never closed"))
                break
            }
            var tag = afterOpen[..<close.lowerBound]
            rest = afterOpen[close.upperBound...]
            line += tag.filter(\.isNewline).count
            if tag.hasPrefix("{") {
                problems.append(
                    Problem(part: part, line: line, message: "{{{…}}} would insert raw text; use {{…}} instead"))
                if rest.hasPrefix("}") { rest = rest.dropFirst() }
                continue
            }
            let sigil = tag.first
            if let sigil, "!#^/>=&%".contains(sigil) { tag = tag.dropFirst() }
            let name = tag.trimmingCharacters(in: .whitespaces)
            switch sigil {
            case "!":
                continue
            case ">", "=", "%", "&":
                problems.append(
                    Problem(part: part, line: line, message: "the tag {{\(sigil!)\(name)}} is not supported here"))
            case "#", "^":
                let path = schema.resolve(name, in: sections.compactMap(\.path))
                if path == nil { problems.append(unknown(name, part: part, line: line, schema: schema)) }
                sections.append(Section(name: name, path: path))
            case "/":
                if sections.last?.name == name {
                    sections.removeLast()
                } else {
                    problems.append(
                        Problem(
                            part: part, line: line,
                            message: "{{/\(name)}} closes a section that is not open"
                                + (sections.last.map { " (the open one is {{#\($0.name)}})" } ?? "")))
                }
            default:
                if name.isEmpty {
                    problems.append(Problem(part: part, line: line, message: "an empty tag {{}}"))
                } else if schema.resolve(name, in: sections.compactMap(\.path)) == nil {
                    problems.append(unknown(name, part: part, line: line, schema: schema))
                }
            }
        }
        for section in sections {
            problems.append(
                Problem(part: part, line: line, message: "the section {{#\(section.name)}} is never closed"))
        }
        return problems
    }

    private static func unknown(_ name: String, part: String, line: Int, schema: TemplateSchema) -> Problem {
        Problem(
            part: part, line: line,
            message: name == "."
                ? "{{.}} only makes sense inside a list section"
                : "{{\(name)}} is not a field of this message")
    }
}

/// The fields a message's context offers, as dotted paths; `[]` marks a list whose items have the fields below it
/// (`next_steps[]`, `next_steps[].name`).
public struct TemplateSchema: Sendable {
    public let paths: Set<String>

    public init(_ paths: some Sequence<String>) {
        self.paths = Set(paths)
    }

    /// The full path `name` refers to from inside the given sections (innermost last), as Mustache looks names up
    /// through its context stack; nil when it names nothing.
    func resolve(_ name: String, in enclosing: [String]) -> String? {
        for prefix in enclosing.reversed() {
            if name == "." && prefix.hasSuffix("[]") { return prefix }
            let candidate = prefix + "." + name
            if paths.contains(candidate) { return candidate }
            if paths.contains(candidate + "[]") { return candidate + "[]" }
        }
        if paths.contains(name) { return name }
        if paths.contains(name + "[]") { return name + "[]" }
        return nil
    }
}

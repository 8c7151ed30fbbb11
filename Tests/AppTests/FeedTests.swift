import Foundation
import FoundationXML
import Testing
import Vapor

@testable import App

@Suite("Job feeds: RSS and the job-board XML")
struct FeedTests {
    /// Element name → texts, read back by Foundation's XML parser (a strict one: a stray `&` or `<` fails it).
    final class Reader: NSObject, XMLParserDelegate {
        var texts: [String: [String]] = [:]
        var attributes: [String: [String: String]] = [:]
        private var current = ""
        private var path: [String] = []

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            path.append(name)
            current = ""
            if !attributes.isEmpty { self.attributes[name] = attributes }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            texts[path.joined(separator: "/"), default: []].append(current)
            path.removeLast()
            current = ""
        }

        static func read(_ body: String) throws -> Reader {
            let reader = Reader()
            let parser = XMLParser(data: Data(body.utf8))
            parser.delegate = reader
            #expect(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
            return reader
        }
    }

    @Test func openJobsOnly_escaped_andReadableByAnXMLParser() async throws {
        try await withApp { app, _ in
            let tricky = try await Fixtures.job(app, title: "R&D <Swift> \"senior\"")
            _ = try await Fixtures.job(app, title: "Brouillon", status: .draft)
            _ = try await Fixtures.job(app, title: "Fermée", status: .closed)

            let rss = try await Browser(app).get(SiteURL.rssFeed)
            #expect(rss.status == .ok && rss.headers.contentType?.subType == "rss+xml")
            let channel = try Reader.read(rss.body)
            #expect(channel.texts["rss/channel/item/title"] == ["R&D <Swift> \"senior\""])
            let link = app.config.publicURL + SiteURL.job(tricky.slug)
            #expect(channel.texts["rss/channel/item/link"] == [link])
            #expect(channel.texts["rss/channel/item/guid"] == [link])
            let date = try #require(channel.texts["rss/channel/item/pubDate"]?.first)
            #expect(
                date.range(
                    of: #"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$"#,
                    options: .regularExpression) != nil, "\(date)")
            #expect(channel.texts["rss/channel/item/description"]?.first?.contains("<h2>Missions</h2>") == true)

            let boards = try await Browser(app).get(SiteURL.boardFeed + "?board=indeed")
            #expect(boards.status == .ok && boards.headers.contentType?.subType == "xml")
            let source = try Reader.read(boards.body)
            #expect(source.texts["source/job/title"] == ["R&D <Swift> \"senior\""])
            #expect(source.texts["source/job/url"] == [link + "?source=indeed"])
            #expect(source.texts["source/job/city"] == ["Paris"] && source.texts["source/job/country"] == ["FR"])
            #expect(source.texts["source/job/jobtype"] == ["cdi"])
            #expect(source.texts["source/job/referencenumber"] == [try tricky.requireID().uuidString.lowercased()])
            // A board name that could break the link is refused.
            #expect(try await Browser(app).get(SiteURL.boardFeed + "?board=a%22%3E").status == .badRequest)
            // The career site points feed readers to the RSS.
            #expect(try await Browser(app).get("/careers").body.contains("type=\"application/rss+xml\""))
        }
    }
}

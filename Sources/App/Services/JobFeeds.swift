import Foundation
import Vapor
import VivierCore

/// The open jobs for other sites: an RSS 2.0 feed (readers, Slack, aggregators) and an XML feed in the layout job
/// boards take for multiposting (one `<job>` per offer: title, date, reference, URL, company, city, country,
/// description, contract type, category, remote).
enum JobFeeds {
    /// Text for an XML element or attribute: the five markup characters escaped, and the characters XML 1.0 does not
    /// allow dropped.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                if value >= 0x20 && !(0xFFFE...0xFFFF).contains(value) { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// RFC 822 dates, as RSS 2.0 wants them (in English, in UTC).
    static func rfc822(_ date: Date) -> String {
        date.formatted(
            Date.VerbatimFormatStyle(
                format:
                    "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) +0000",
                locale: Locale(identifier: "en_US_POSIX"), timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
    }

    static func rss(jobs: [Job], company: Company, baseURL: String, language: Language, now: Date) -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
            <channel>
            <title>\(escape(company.name))</title>
            <link>\(escape(baseURL + SiteURL.careers))</link>
            <description>\(escape(company.name))</description>
            <language>\(language.rawValue)</language>
            <lastBuildDate>\(rfc822(now))</lastBuildDate>
            <atom:link href="\(escape(baseURL + SiteURL.rssFeed))" rel="self" type="application/rss+xml"/>

            """
        for job in jobs {
            let url = baseURL + SiteURL.job(job.slug)
            xml += """
                <item>
                <title>\(escape(job.title))</title>
                <link>\(escape(url))</link>
                <guid isPermaLink="true">\(escape(url))</guid>
                <pubDate>\(rfc822(job.publishedAt ?? job.createdAt ?? now))</pubDate>
                <category>\(escape(job.department))</category>
                <description>\(escape(Markdown.html(job.description)))</description>
                </item>

                """
        }
        return xml + "</channel>\n</rss>\n"
    }

    /// `board` names the site in each job's link (`?source=`), so applications from it are counted by source.
    static func boards(jobs: [Job], company: Company, baseURL: String, board: String, now: Date) -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <source>
            <publisher>\(escape(company.name))</publisher>
            <publisherurl>\(escape(company.website.isEmpty ? baseURL + SiteURL.careers : company.website))</publisherurl>
            <lastBuildDate>\(rfc822(now))</lastBuildDate>

            """
        for job in jobs {
            xml += """
                <job>
                <title>\(escape(job.title))</title>
                <date>\(rfc822(job.publishedAt ?? job.createdAt ?? now))</date>
                <referencenumber>\(escape(job.id?.lowercasedString ?? ""))</referencenumber>
                <url>\(escape(baseURL + SiteURL.job(job.slug) + "?source=" + board))</url>
                <company>\(escape(company.name))</company>
                <city>\(escape(job.location))</city>
                <country>\(escape(company.country))</country>
                <description>\(escape(Markdown.html(job.description)))</description>
                <jobtype>\(escape(job.contractType.rawValue))</jobtype>
                <category>\(escape(job.department))</category>
                <remotetype>\(escape(job.remotePolicy.rawValue))</remotetype>
                </job>

                """
        }
        return xml + "</source>\n"
    }
}

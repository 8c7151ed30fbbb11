import Foundation
import VivierCore

/// Dates as people read them in each language (Europe/Paris time), and as feeds want them. Format styles are values
/// with cached formatters, safe to use from any request.
enum Dates {
    static let zone = TimeZone(identifier: "Europe/Paris")!
    private static func style(_ language: Language) -> Date.FormatStyle {
        var style = Date.FormatStyle(locale: language.locale, timeZone: zone)
        style.calendar = Calendar(identifier: .gregorian)
        return style
    }

    /// "14 août 2026" / "14 August 2026".
    static func day(_ date: Date, _ language: Language) -> String {
        date.formatted(style(language).day().month(.wide).year())
    }

    /// "14 août" / "14 Aug": for dense places such as board cards.
    static func short(_ date: Date, _ language: Language) -> String {
        date.formatted(style(language).day().month(.abbreviated))
    }

    /// "14 août 2026 à 18:28" / "14 Aug 2026, 18:28".
    static func dayTime(_ date: Date, _ language: Language) -> String {
        date.formatted(style(language).day().month(.abbreviated).year().hour().minute())
    }

    /// "340 Ko" / "340 KB", "1,2 Mo" / "1.2 MB": file sizes as each language writes them.
    static func fileSize(_ bytes: Int, _ language: Language) -> String {
        let fr = language == .fr
        if bytes < 1024 { return fr ? "\(bytes) octets" : "\(bytes) bytes" }
        if bytes < 1024 * 1024 { return "\(bytes / 1024) " + (fr ? "Ko" : "KB") }
        let megabytes = (Double(bytes) / 1_048_576 * 10).rounded() / 10
        let text = String(megabytes)
        return (fr ? text.replacingOccurrences(of: ".", with: ",") : text) + (fr ? " Mo" : " MB")
    }

    /// "novembre 2026" / "November 2026".
    static func monthYear(_ date: Date, _ language: Language, timeZone: TimeZone = zone) -> String {
        var style = Date.FormatStyle(locale: language.locale, timeZone: timeZone)
        style.calendar = Calendar(identifier: .gregorian)
        return date.formatted(style.month(.wide).year())
    }

    static func iso8601Day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: zone).year().month().day())
    }
}

extension Language {
    /// The locale dates and numbers are written in for this language.
    var locale: Locale { Locale(identifier: self == .fr ? "fr_FR" : "en_GB") }
}

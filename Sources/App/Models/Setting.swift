import Fluent
import Vapor

/// An installation-wide setting an admin changes in the UI (company name, website, country).
final class Setting: Model, @unchecked Sendable {
    static let schema = "settings"

    @ID(key: .id) var id: UUID?
    @Field(key: "key") var key: String
    @Field(key: "value") var value: String

    init() {}

    init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// The company behind the career site, as shown to candidates and in the job feeds, and the rhythm of its
/// messages: the sending window, the "no news" and silence timers, the interview reminder.
struct Company: Codable, Sendable {
    var name: String
    var website: String
    var country: String
    var timeZone = "Europe/Paris"
    /// Messages that may wait (rejections, updates) leave between these hours on working days.
    var sendingOpens = 9
    var sendingCloses = 18
    /// Days without a human message before an active candidate gets a "still in progress" update.
    var noNewsDays = 7
    /// Days a candidate may leave a message expecting an answer unanswered before a follow-up.
    var silenceDays = 5
    /// Hours before an interview its reminder goes out.
    var reminderHours = 24
    /// The company's colour on the career site, the portal and in emails: links, buttons, the top of messages.
    var brandColor = BrandColor.default
    /// The logo's blob key and media type ("key|image/png"), empty when there is none.
    var logo = ""

    static let fallback = Company(name: "Vivier", website: "", country: "FR")

    private static let prefix = "company."

    private var values: [(String, String)] {
        [
            ("name", name), ("website", website), ("country", country), ("time_zone", timeZone),
            ("sending_opens", String(sendingOpens)), ("sending_closes", String(sendingCloses)),
            ("no_news_days", String(noNewsDays)), ("silence_days", String(silenceDays)),
            ("reminder_hours", String(reminderHours)), ("brand_color", brandColor), ("logo", logo),
        ]
    }

    static func load(on db: any Database) async throws -> Company {
        let rows = try await Setting.query(on: db).filter(\.$key ~~ fallback.values.map { prefix + $0.0 }).all()
        let stored = Dictionary(rows.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        func text(_ key: String, _ fallback: String) -> String { stored[prefix + key] ?? fallback }
        func number(_ key: String, _ fallback: Int) -> Int { stored[prefix + key].flatMap(Int.init) ?? fallback }
        var company = Company(
            name: text("name", fallback.name), website: text("website", fallback.website),
            country: text("country", fallback.country))
        company.timeZone = text("time_zone", fallback.timeZone)
        company.sendingOpens = number("sending_opens", fallback.sendingOpens)
        company.sendingCloses = number("sending_closes", fallback.sendingCloses)
        company.noNewsDays = number("no_news_days", fallback.noNewsDays)
        company.silenceDays = number("silence_days", fallback.silenceDays)
        company.reminderHours = number("reminder_hours", fallback.reminderHours)
        // Written into style sheets and emails: only a colour that passes the form's check is used.
        company.brandColor =
            (try? BrandColor.parse(text("brand_color", fallback.brandColor)).get()) ?? fallback.brandColor
        company.logo = text("logo", fallback.logo)
        return company
    }

    func save(on db: any Database) async throws {
        for (key, value) in values {
            if let row = try await Setting.query(on: db).filter(\.$key == Self.prefix + key).first() {
                row.value = value
                try await row.save(on: db)
            } else {
                try await Setting(key: Self.prefix + key, value: value).create(on: db)
            }
        }
    }
}

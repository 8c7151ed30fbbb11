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

/// The company behind the career site, as shown to candidates and in the job feeds.
struct Company: Codable, Sendable {
    var name: String
    var website: String
    var country: String

    static let fallback = Company(name: "Vivier", website: "", country: "FR")

    static func load(on db: any Database) async throws -> Company {
        let rows = try await Setting.query(on: db).filter(
            \.$key ~~ ["company.name", "company.website", "company.country"]
        ).all()
        let values = Dictionary(rows.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        return Company(
            name: values["company.name"] ?? fallback.name, website: values["company.website"] ?? fallback.website,
            country: values["company.country"] ?? fallback.country)
    }

    func save(on db: any Database) async throws {
        for (key, value) in [("company.name", name), ("company.website", website), ("company.country", country)] {
            if let row = try await Setting.query(on: db).filter(\.$key == key).first() {
                row.value = value
                try await row.save(on: db)
            } else {
                try await Setting(key: key, value: value).create(on: db)
            }
        }
    }
}

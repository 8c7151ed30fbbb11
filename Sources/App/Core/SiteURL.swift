import Foundation

/// Every path Vivier links to, built in one place so links in pages and (later) emails cannot go stale.
enum SiteURL {
    static let careers = "/careers"
    static let candidatesCSV = "/app/candidates.csv"
    static let rssFeed = "/careers/feed.rss"
    static let boardFeed = "/careers/feed.xml"
    static let outbox = "/app/outbox"
    static let audit = "/app/audit"
    static let apiTokens = "/app/api-tokens"
    static let imports = "/app/imports"
    static let webhooks = "/app/webhooks"
    static let loginCode = "/login/code"
    static let security = "/app/security"
    static let retention = "/app/retention"
    static func keep(_ token: String) -> String { "/keep/\(token)" }
    static let mailbox = "/app/mailbox"
    static let brandTheme = "/brand/theme.css"
    static func brandLogo(_ key: String) -> String { "/brand/logo/\(key)" }
    static let spontaneous = "/careers/apply"
    static let thanks = "/careers/thanks"
    static let login = "/login"
    static let dashboard = "/app"
    static let jobs = "/app/jobs"
    static let candidates = "/app/candidates"
    static let users = "/app/users"
    static let pipeline = "/app/pipeline"
    static let company = "/app/company"

    static func job(_ slug: String) -> String { "/careers/\(slug)" }
    static func apply(_ slug: String) -> String { "/careers/\(slug)/apply" }
    static func editJob(_ id: UUID) -> String { "/app/jobs/\(id.uuidString.lowercased())/edit" }
    static func board(_ id: UUID) -> String { "/app/jobs/\(id.uuidString.lowercased())/board" }
    static func candidate(_ id: UUID) -> String { "/app/candidates/\(id.uuidString.lowercased())" }
    static func application(_ id: UUID) -> String { "/app/applications/\(id.uuidString.lowercased())" }
    static func document(_ id: UUID) -> String { "/app/documents/\(id.uuidString.lowercased())" }
    static func user(_ id: UUID) -> String { "/app/users/\(id.uuidString.lowercased())" }

    // Candidate-facing links from emails: long random or signed tokens, no login.
    static let portal = "/portal"
    static let portalLogin = "/portal/login"
    static func portalEntry(_ token: String) -> String { "/portal/t/\(token)" }
    static func portalExport(_ token: String) -> String { "/portal/export/\(token)" }
    static func optIn(_ token: String) -> String { "/consent/\(token)" }
    static func prepResource(_ token: String) -> String { "/prep/\(token)" }
    static func survey(_ token: String) -> String { "/survey/\(token)" }
    static func confirm(_ token: String) -> String { "/confirm/\(token)" }
    static func unsubscribe(_ token: String) -> String { "/unsubscribe/\(token)" }
    static let community = "/talent-community"
    static func click(_ token: String) -> String { "/c/\(token)" }
    static func open(_ token: String) -> String { "/o/\(token)" }
    static let segments = "/app/segments"
    static func segment(_ id: UUID) -> String { "/app/segments/\(id.uuidString.lowercased())" }
    static let campaigns = "/app/campaigns"
    static func campaign(_ id: UUID) -> String { "/app/campaigns/\(id.uuidString.lowercased())" }
    static let newsletters = "/app/newsletters"
    static func newsletter(_ id: UUID) -> String { "/app/newsletters/\(id.uuidString.lowercased())" }
    static func jobMatch(_ id: UUID) -> String { "/app/jobs/\(id.uuidString.lowercased())/match" }
    static let templates = "/app/templates"
    static func template(_ kind: String, _ language: String) -> String { "/app/templates/\(kind)/\(language)" }
    static let prepResources = "/app/prep"
    static let waiting = "/app/waiting"
    static let partners = "/app/partners"
}

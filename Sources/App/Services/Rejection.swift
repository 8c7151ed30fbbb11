import Fluent
import Vapor
import VivierCore
import VivierMail

/// Moment 4: a considerate rejection, in the candidate's language, worded for the reason, with one-click opt-ins
/// to stay in touch, and delivered inside business hours (a "no" at 23:00 on a Sunday reads worse than the same
/// words on Monday morning).
enum Rejection {
    /// Queues the rejection of `application`. `personalNote` is the recruiter's own sentence; `delay` holds the
    /// message at least that long (not within an hour of an interview, say) before the business-hours rule.
    static func queue(
        for application: JobApplication, reason: ClosingReason, personalNote: String = "", delay: TimeInterval = 0,
        composer: Composer
    ) async throws {
        let db = composer.db, now = composer.now
        let applicationID = try application.requireID()
        guard let candidate = try await Candidate.find(application.$candidate.id, on: db) else { return }
        let job = try await application.$job.get(on: db)
        let window = SendingWindow(try await composer.company())
        try await composer.send(
            .rejection(reason), to: candidate, application: application, job: job,
            extra: [
                "personal_note": personalNote.trimmed.isEmpty ? nil as String? : personalNote.trimmed as String?,
                "opt_in": optInLinks(candidateID: try candidate.requireID(), composer: composer),
            ],
            dedupeKey: "reject:\(applicationID.lowercasedString):\(Int(now.timeIntervalSince1970))",
            sendAt: window.nextMoment(from: now + delay))
    }

    /// One signed link per purpose a rejected candidate may opt in to, valid 60 days.
    static func optInLinks(candidateID: UUID, composer: Composer) -> [String: String] {
        var links: [String: String] = [:]
        for purpose in [ConsentPurpose.talentPool, .newsletter, .partnerSharing] {
            let token = SignedLink.make(
                ["optin", purpose.rawValue, candidateID.lowercasedString], expires: composer.now + 60 * 86_400,
                secret: composer.config.secret)
            links["\(purpose.rawValue)_url"] = composer.config.publicURL + SiteURL.optIn(token)
        }
        return links
    }
}

/// When messages that may wait are allowed to leave: working days, between the opening and closing hours of the
/// company's time zone (defaults 9:00–18:00, Europe/Paris; set on the company page).
struct SendingWindow: Sendable {
    var opening: Int
    var closing: Int
    var timeZone: TimeZone

    init(_ company: Company) {
        opening = company.sendingOpens
        closing = company.sendingCloses
        timeZone = TimeZone(identifier: company.timeZone) ?? Dates.zone
    }

    func nextMoment(from date: Date) -> Date {
        WorkingCalendar(timeZone: timeZone, holidays: WorkingCalendar.france(around: date).holidays)
            .nextBusinessMoment(from: date, opening: opening, closing: closing)
    }
}

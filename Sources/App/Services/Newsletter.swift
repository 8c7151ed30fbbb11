import Fluent
import Vapor
import VivierCore

/// Double opt-in for what Vivier may send in bulk (newsletter, job alerts): a sign-up records the consent as
/// given, then one plain confirmation email (no marketing in it) carries a single-use link valid 7 days; only a
/// confirmed consent lets marketing through. Unsubscribing (one click, RFC 8058) withdraws them and puts the
/// address on the suppression list for marketing.
enum Newsletter {
    /// Purposes that need their consent confirmed from the person's mailbox before anything is sent.
    static let doubleOptIn: [ConsentPurpose] = [.newsletter, .jobAlerts]
    static let confirmationLifetime: TimeInterval = 7 * 86_400

    /// Queues the confirmation email for `purposes` (those needing double opt-in), once a day per person.
    static func requestConfirmation(
        of purposes: [ConsentPurpose], for candidate: Candidate, composer: Composer
    ) async throws {
        let wanted = purposes.filter(doubleOptIn.contains)
        guard !wanted.isEmpty else { return }
        let candidateID = try candidate.requireID()
        let language = Language(rawValue: candidate.language) ?? .fr
        let token = SignedLink.make(
            ["confirm", candidateID.lowercasedString, wanted.map(\.rawValue).joined(separator: ",")],
            expires: composer.now + confirmationLifetime, secret: composer.config.secret)
        let day = Int(composer.now.timeIntervalSince1970 / 86_400)
        try await composer.send(
            .consentConfirmation, to: candidate, application: nil, job: nil,
            extra: [
                "confirm_url": composer.config.publicURL + SiteURL.confirm(token),
                "purposes": wanted.map { label($0, language) }.joined(separator: language == .fr ? " et " : " and "),
            ],
            dedupeKey:
                "confirm:\(candidateID.lowercasedString):\(wanted.map(\.rawValue).joined(separator: ",")):\(day)"
        )
    }

    static func label(_ purpose: ConsentPurpose, _ language: Language) -> String {
        switch (purpose, language) {
        case (.newsletter, .fr): "la lettre d'information"
        case (.newsletter, .en): "the newsletter"
        case (.jobAlerts, .fr): "les alertes offres d'emploi"
        case (.jobAlerts, .en): "job alerts"
        case (.talentPool, .fr): "le vivier de talents"
        case (.talentPool, .en): "the talent pool"
        case (.partnerSharing, .fr): "le partage avec nos partenaires"
        case (.partnerSharing, .en): "sharing with our partners"
        case (.smsReminders, .fr): "les rappels par SMS"
        case (.smsReminders, .en): "text reminders"
        }
    }

    /// Whether marketing of `purpose` may be sent to one person now.
    static func marketable(_ purpose: ConsentPurpose, candidateID: UUID, on db: any Database) async throws -> Bool {
        try await ConsentLedger.marketable([candidateID], purpose: purpose, series: nil, on: db).contains(candidateID)
    }

    /// The one-click unsubscribe link of a person's bulk messages (RFC 8058), valid two years.
    /// A campaign's links also name the message, so the campaign's report counts the unsubscribe.
    static func unsubscribeURL(candidateID: UUID, outboxID: UUID? = nil, config: AppConfig, now: Date) -> String {
        config.publicURL
            + SiteURL.unsubscribe(
                SignedLink.make(
                    ["unsub", candidateID.lowercasedString]
                        + (outboxID.map { [$0.lowercasedString] } ?? []),
                    expires: now + 730 * 86_400, secret: config.secret))
    }

    /// Withdraws every marketing consent the person holds and suppresses their address for marketing; the
    /// suppression applies to what is already queued, as the worker checks it at send time.
    static func unsubscribe(
        _ candidate: Candidate, channel: ConsentChannel, purposes: [ConsentPurpose] = ConsentPurpose.allCases,
        on db: any Database, now: Date
    ) async throws {
        let candidateID = try candidate.requireID()
        let language = Language(rawValue: candidate.language) ?? .fr
        try await db.writeTransaction { db in
            let state = try await ConsentLedger.state(of: candidateID, on: db)
            for purpose in purposes where state[purpose] == true {
                try await ConsentLedger.record(
                    purpose, .withdrawn, for: candidateID, channel: channel, language: language, on: db, now: now)
            }
            try await Webhooks.emit(
                .unsubscribed, Webhooks.CandidateData(candidateID: candidateID.api), on: db, now: now)
            let hash = Suppression.hash(candidate.email)
            if try await Suppression.query(on: db).filter(\.$addressHash == hash).count() == 0 {
                try await Suppression(address: candidate.email, reason: Suppression.unsubscribeReason, at: now)
                    .create(on: db)
            }
        }
    }
}

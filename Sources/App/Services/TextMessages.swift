import Fluent
import Vapor
import VivierCore

/// Text messages: interview reminders for candidates who gave a number and agreed, one-off texts from a
/// recruiter, STOP replies. Off unless `VIVIER_SMS_PROVIDER` is set.
enum TextMessages {
    /// Why a text cannot be queued, in words for the recruiter.
    enum Refusal: String, Error {
        case off = "sms.error_off"
        case noPhone = "sms.error_no_phone"
        case noConsent = "sms.error_no_consent"
        case tooLong = "sms.error_too_long"
        case empty = "sms.error_empty"
    }

    /// The longest text accepted: four parts.
    static let maxSegments = 4

    /// Queues a text to the candidate once per `dedupeKey`, or says why not.
    @discardableResult
    static func queue(
        _ text: String, kind: String, to candidate: Candidate, dedupeKey: String, sendAt: Date, config: AppConfig,
        on db: any Database, now: Date
    ) async throws -> Result<Bool, Refusal> {
        guard config.sms != nil else { return .failure(.off) }
        guard let phone = SMS.e164(candidate.phone) else { return .failure(.noPhone) }
        let candidateID = try candidate.requireID()
        guard try await ConsentLedger.state(of: candidateID, on: db)[.smsReminders] == true else {
            return .failure(.noConsent)
        }
        let text = text.trimmed
        guard !text.isEmpty else { return .failure(.empty) }
        guard SMS.segments(text).count <= maxSegments else { return .failure(.tooLong) }
        if try await SMSMessage.query(on: db).filter(\.$dedupeKey == dedupeKey).count() > 0 { return .success(false) }
        try await SMSMessage(
            candidateID: candidateID, kind: kind, dedupeKey: dedupeKey, phone: phone, text: text, sendAt: sendAt,
            at: now
        ).create(on: db)
        return .success(true)
    }

    /// The reminder the day before an interview: short, and in GSM-7 characters only (French accents included), so
    /// that it fits one part.
    static func reminder(_ interview: Interview, company: String, language: Language) -> String {
        let zone = TimeZone(identifier: interview.timeZone) ?? Dates.zone
        let when = interview.startsAt.formatted(
            Date.FormatStyle(date: .omitted, time: .shortened, locale: language.locale, timeZone: zone))
        let place = interview.location.isEmpty ? (language == .fr ? "en visio" : "by video") : interview.location
        return language == .fr
            ? "\(company) : rappel de votre entretien demain à \(when), \(place). Un imprévu ? Répondez à notre email. STOP pour ne plus recevoir de SMS"
            : "\(company): reminder of your interview tomorrow at \(when), \(place). Something came up? Reply to our email. STOP to opt out"
    }

    /// Sends what is due: consent re-checked first, temporary failures retried with back-off (at most 5 tries).
    static func sendDue(app: Application, now: Date, limit: Int = 100) async throws -> Int {
        guard let gateway = app.smsGateway else { return 0 }
        let due = try await SMSMessage.query(on: app.db).filter(\.$status == .pending).filter(\.$sendAt <= now)
            .sort(\.$sendAt).limit(limit).all()
        var sent = 0
        for message in due {
            guard try await ConsentLedger.state(of: message.$candidate.id, on: app.db)[.smsReminders] == true else {
                message.status = .cancelled
                message.lastError = "consent withdrawn"
                try await message.save(on: app.db)
                continue
            }
            message.attempts += 1
            switch await gateway.send(to: message.phone, text: message.text) {
            case .sent(let id):
                message.status = .sent
                message.sentAt = now
                message.providerID = id
                sent += 1
            case .transientFailure(let reason):
                message.lastError = reason
                if message.attempts >= 5 {
                    message.status = .failed
                } else {
                    message.sendAt = now + 60 * pow(2, Double(message.attempts))
                }
            case .permanentFailure(let reason):
                message.status = .failed
                message.lastError = reason
            }
            try await message.save(on: app.db)
        }
        return sent
    }

    /// A reply to one of our texts. STOP (or ARRET) withdraws the consent of every candidate with that number and
    /// cancels their pending texts; anything else is noted on their timeline.
    static func inbound(from raw: String, body: String, on db: any Database, now: Date) async throws -> Bool {
        guard let phone = SMS.e164(raw) else { return false }
        let candidates = try await Candidate.query(on: db).filter(\.$phone != "").all().filter {
            SMS.e164($0.phone) == phone
        }
        guard !candidates.isEmpty else { return false }
        try await db.transaction { db in
            for candidate in candidates {
                let id = try candidate.requireID()
                if SMS.isStop(body) {
                    if try await ConsentLedger.state(of: id, on: db)[.smsReminders] == true {
                        try await ConsentLedger.record(
                            .smsReminders, .withdrawn, for: id, channel: .sms,
                            language: Language(rawValue: candidate.language) ?? .fr, on: db, now: now)
                    }
                    try await SMSMessage.query(on: db).filter(\.$candidate.$id == id).filter(\.$status == .pending)
                        .set(\.$status, to: .cancelled).update()
                } else {
                    try await Interaction(
                        candidateID: id, applicationID: nil, actorID: nil, kind: .reply,
                        detail: String("SMS — \(body)".prefix(1000)), at: now
                    ).create(on: db)
                }
            }
        }
        return true
    }

    /// The secret part of the inbound webhook's address, derived from the installation secret.
    static func webhookKey(secret: [UInt8]) -> String {
        String(Tokens.sign("sms-inbound", secret: secret).prefix(32))
    }
}

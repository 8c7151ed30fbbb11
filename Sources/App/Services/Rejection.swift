import Fluent
import Vapor
import VivierCore
import VivierMail

/// Moment 4: a considerate rejection, in the candidate's language, worded for the reason, and delivered inside
/// business hours (a "no" at 23:00 on a Sunday reads worse than the same words on Monday morning).
enum Rejection {
    static func queue(
        for application: JobApplication, reason: ClosingReason, on db: any Database, mail: MailSettings,
        secret: [UInt8], now: Date
    ) async throws {
        let applicationID = try application.requireID()
        guard let candidate = try await Candidate.find(application.$candidate.id, on: db) else { return }
        let job = try await application.$job.get(on: db)
        let company = try await Company.load(on: db)
        let language = Language(rawValue: candidate.language) ?? .fr
        let message = try Self.message(
            language: language, candidate: candidate, jobTitle: job?.title, company: company.name, reason: reason,
            from: mail.from)
        // Held until business hours; the queue sends it then.
        try await Outbox.enqueue(
            message, kind: "rejection",
            dedupeKey: "reject:\(applicationID.uuidString.lowercased()):\(Int(now.timeIntervalSince1970))",
            transactional: true, candidateID: candidate.id, tracking: secret,
            sendAt: WorkingCalendar.france(around: now).nextBusinessMoment(from: now), on: db, now: now)
    }

    static func message(
        language: Language, candidate: Candidate, jobTitle: String?, company: String, reason: ClosingReason,
        from: MailAddress
    ) throws -> MailMessage {
        let fr = language == .fr
        let job = jobTitle ?? (fr ? "votre candidature spontanée" : "your spontaneous application")
        let subject = fr ? "Votre candidature chez \(company) — \(job)" : "Your application at \(company) — \(job)"
        let why: String
        switch (reason, fr) {
        case (.positionFilled, true):
            why =
                "Le poste « \(job) » vient d'être pourvu. Votre candidature n'est pas en cause : nous avons simplement dû conclure avant d'avoir pu vous rencontrer."
        case (.positionFilled, false):
            why =
                "The \(job) position has just been filled. This says nothing against your application: we simply had to conclude before we could meet you."
        case (.afterInterview, true):
            why =
                "Merci pour le temps et l'énergie consacrés à nos entretiens. Après réflexion, nous avons retenu un autre profil pour le poste « \(job) », dont l'expérience correspond de plus près à ce dont l'équipe a besoin aujourd'hui."
        case (.afterInterview, false):
            why =
                "Thank you for the time and energy you gave our interviews. After careful thought, we chose another candidate for the \(job) position, whose experience matches more closely what the team needs today."
        case (.jobWithdrawn, true):
            why =
                "Le recrutement pour le poste « \(job) » est suspendu : l'offre est retirée. Nous sommes désolés de ne pas pouvoir donner suite."
        case (.jobWithdrawn, false):
            why =
                "Hiring for the \(job) position has been put on hold and the job withdrawn. We are sorry we cannot take your application further."
        case (.unresponsive, true):
            why =
                "Sans nouvelles de votre part, nous clôturons votre candidature au poste « \(job) ». Si vous êtes toujours intéressé(e), répondez simplement à cet email."
        case (.unresponsive, false):
            why =
                "As we have not heard back from you, we are closing your application for the \(job) position. If you are still interested, simply reply to this email."
        case (_, true):
            why =
                "Nous avons lu votre candidature au poste « \(job) » avec attention. Nous ne donnons pas suite : d'autres profils correspondent davantage aux besoins précis de ce poste."
        case (_, false):
            why =
                "We read your application for the \(job) position carefully. We will not take it further: other profiles match the specific needs of this role more closely."
        }
        let lines = [
            fr ? "Bonjour \(candidate.firstName)," : "Hello \(candidate.firstName),", "", why, "",
            fr
                ? "Nous savons ce qu'une candidature demande de temps et vous remercions de l'intérêt porté à \(company). Vous pouvez répondre à cet email si vous souhaitez un retour plus précis."
                : "We know how much time an application takes and thank you for your interest in \(company). You can reply to this email if you would like more specific feedback.",
            "",
            fr
                ? "Bonne continuation,\nL'équipe recrutement de \(company)"
                : "All the best,\nThe \(company) recruiting team",
        ]
        let text = lines.joined(separator: "\n")
        return try CandidateMail.message(from: from, company: company, to: candidate, subject: subject, text: text)
    }
}

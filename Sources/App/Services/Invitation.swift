import Fluent
import Vapor
import VivierCore
import VivierMail

/// Moment 3, preparation: the interview invitation with its calendar event (METHOD:REQUEST, or CANCEL), in the
/// candidate's language and the interview's time zone.
enum Invitation {
    static func queue(_ interview: Interview, on db: any Database, mail: MailSettings, secret: [UInt8], now: Date)
        async throws
    {
        let application = try await interview.$application.get(on: db)
        guard let candidate = try await Candidate.find(application.$candidate.id, on: db) else { return }
        let job = try await application.$job.get(on: db)
        let company = try await Company.load(on: db)
        let language = Language(rawValue: candidate.language) ?? .fr
        let fr = language == .fr
        let zone = TimeZone(identifier: interview.timeZone) ?? Dates.zone
        let jobTitle = job?.title ?? (fr ? "candidature spontanée" : "spontaneous application")
        let cancelled = interview.status == .cancelled
        let when = interview.startsAt.formatted(
            Date.FormatStyle(
                date: .complete, time: .shortened, locale: Locale(identifier: fr ? "fr_FR" : "en_GB"), timeZone: zone))

        let subject: String
        var lines = [fr ? "Bonjour \(candidate.firstName)," : "Hello \(candidate.firstName),", ""]
        if cancelled {
            subject = fr ? "Entretien annulé — \(jobTitle)" : "Interview cancelled — \(jobTitle)"
            lines.append(
                fr
                    ? "L'entretien prévu le \(when) pour le poste « \(jobTitle) » est annulé. Nous revenons vers vous très vite."
                    : "The interview planned on \(when) for the \(jobTitle) position is cancelled. We will get back to you very soon."
            )
        } else {
            subject =
                interview.sequence == 0
                ? (fr ? "Invitation à un entretien — \(jobTitle)" : "Interview invitation — \(jobTitle)")
                : (fr ? "Entretien déplacé — \(jobTitle)" : "Interview rescheduled — \(jobTitle)")
            lines.append(
                fr
                    ? "Nous serions ravis d'échanger avec vous pour le poste « \(jobTitle) » chez \(company.name)."
                    : "We would be glad to talk with you about the \(jobTitle) position at \(company.name).")
            lines.append("")
            lines.append(
                (fr ? "Quand : " : "When: ") + "\(when) (\(zone.identifier)), \(interview.durationMinutes) min")
            if !interview.location.isEmpty { lines.append((fr ? "Où : " : "Where: ") + interview.location) }
            if !interview.videoURL.isEmpty {
                lines.append((fr ? "Lien visio : " : "Video link: ") + interview.videoURL)
            }
            if !interview.interviewers.isEmpty { lines.append((fr ? "Avec : " : "With: ") + interview.interviewers) }
            lines.append("")
            lines.append(
                fr
                    ? "L'invitation jointe s'ajoute à votre agenda. Si l'horaire ne vous convient pas, répondez simplement à cet email."
                    : "The attached invitation adds it to your calendar. If the time does not suit you, simply reply to this email."
            )
        }
        lines += [
            "",
            fr
                ? "À bientôt,\nL'équipe recrutement de \(company.name)"
                : "See you soon,\nThe \(company.name) recruiting team",
        ]
        let text = lines.joined(separator: "\n")

        let event = ICalendarEvent(
            method: cancelled ? .cancel : .request, uid: interview.uid, sequence: interview.sequence,
            start: interview.startsAt,
            end: interview.endsAt, timeZone: zone, summary: (fr ? "Entretien — " : "Interview — ") + jobTitle,
            description: text, location: interview.location.isEmpty ? nil : interview.location,
            url: interview.videoURL.isEmpty ? nil : interview.videoURL,
            organizer: .init(name: company.name, email: mail.from.address),
            attendees: [.init(name: candidate.fullName, email: candidate.email)],
            stamp: now)
        let message = try CandidateMail.message(
            from: mail.from, company: company.name, to: candidate, subject: subject, text: text,
            calendar: (method: cancelled ? "CANCEL" : "REQUEST", body: try event.render()))
        try await Outbox.enqueue(
            message, kind: cancelled ? "interview_cancelled" : "interview",
            dedupeKey: "interview:\(interview.uid):\(interview.sequence)",
            transactional: true, candidateID: candidate.id, tracking: secret, on: db, now: now)

        // A reminder the day before; any reminder of an earlier version of this interview is called off.
        let earlier = (0..<interview.sequence).map { "reminder:\(interview.uid):\($0)" }
        if !earlier.isEmpty {
            try await OutboxMessage.query(on: db).filter(\.$kind == "interview_reminder").filter(
                \.$dedupeKey ~~ earlier
            )
            .filter(\.$status ~~ [.pending, .retry]).set(\.$status, to: .cancelled).update()
        }
        let remindAt = interview.startsAt - 24 * 3600
        guard !cancelled, remindAt > now + 3600 else { return }
        let reminderLines = [
            fr ? "Bonjour \(candidate.firstName)," : "Hello \(candidate.firstName),", "",
            fr
                ? "Petit rappel : nous vous retrouvons demain, \(when) (\(zone.identifier)), pour le poste « \(jobTitle) »."
                : "A quick reminder: we meet tomorrow, \(when) (\(zone.identifier)), about the \(jobTitle) position.",
            interview.location.isEmpty ? nil : (fr ? "Où : " : "Where: ") + interview.location,
            interview.videoURL.isEmpty ? nil : (fr ? "Lien visio : " : "Video link: ") + interview.videoURL, "",
            fr
                ? "Un empêchement ? Répondez à cet email, nous trouverons un autre moment."
                : "Something came up? Reply to this email and we will find another time.",
            "",
            fr
                ? "À demain,\nL'équipe recrutement de \(company.name)"
                : "See you tomorrow,\nThe \(company.name) recruiting team",
        ].compactMap { $0 }
        let reminder = try CandidateMail.message(
            from: mail.from, company: company.name, to: candidate,
            subject: fr
                ? "Rappel : votre entretien demain — \(jobTitle)" : "Reminder: your interview tomorrow — \(jobTitle)",
            text: reminderLines.joined(separator: "\n"))
        try await Outbox.enqueue(
            reminder, kind: "interview_reminder", dedupeKey: "reminder:\(interview.uid):\(interview.sequence)",
            transactional: true,
            candidateID: candidate.id, tracking: secret, sendAt: remindAt, on: db, now: now)
    }
}

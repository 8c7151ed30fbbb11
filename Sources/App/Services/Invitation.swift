import Fluent
import Vapor
import VivierCore
import VivierMail

/// Moment 3, preparation: the interview invitation with its calendar event (METHOD:REQUEST, or CANCEL), in the
/// candidate's language and the interview's time zone, with the prep pack of the stage; and the reminder before.
enum Invitation {
    static func queue(_ interview: Interview, composer: Composer) async throws {
        let composer = try await composer.loadingCompany()
        let db = composer.db, now = composer.now
        let application = try await interview.$application.get(on: db)
        guard let candidate = try await Candidate.find(application.$candidate.id, on: db) else { return }
        let job = try await application.$job.get(on: db)
        let company = try await composer.company()
        let language = Language(rawValue: candidate.language) ?? .fr
        let zone = TimeZone(identifier: interview.timeZone) ?? Dates.zone
        let cancelled = interview.status == .cancelled
        let kind: MessageKind =
            cancelled ? .interviewCancelled : interview.sequence == 0 ? .interviewInvitation : .interviewRescheduled
        let pack = try await prepPack(for: application, candidate: candidate, language: language, composer: composer)
        let extra = details(interview, zone: zone, language: language, pack: pack)

        let jobTitle = job?.title ?? (language == .fr ? "candidature spontanée" : "spontaneous application")
        let event = ICalendarEvent(
            method: cancelled ? .cancel : .request, uid: interview.uid, sequence: interview.sequence,
            start: interview.startsAt, end: interview.endsAt, timeZone: zone,
            summary: (language == .fr ? "Entretien — " : "Interview — ") + jobTitle,
            description: [interview.location, interview.videoURL, interview.interviewers].filter { !$0.isEmpty }
                .joined(separator: "\n"),
            location: interview.location.isEmpty ? nil : interview.location,
            url: interview.videoURL.isEmpty ? nil : interview.videoURL,
            organizer: .init(name: company.name, email: composer.config.mail.from.address),
            attendees: [.init(name: candidate.fullName, email: candidate.email)],
            stamp: now)
        try await composer.send(
            kind, to: candidate, application: application, job: job, extra: extra,
            dedupeKey: "interview:\(interview.uid):\(interview.sequence)",
            calendar: (method: cancelled ? "CANCEL" : "REQUEST", body: try event.render()))

        // A reminder before; any reminder of an earlier version of this interview is called off.
        let earlier = (0..<interview.sequence).map { "reminder:\(interview.uid):\($0)" }
        if !earlier.isEmpty {
            try await OutboxMessage.query(on: db).filter(\.$kind == MessageKind.interviewReminder.rawValue)
                .filter(\.$dedupeKey ~~ earlier).filter(\.$status ~~ [.pending, .retry])
                .set(\.$status, to: .cancelled).update()
            try await SMSMessage.query(on: db).filter(\.$dedupeKey ~~ earlier.map { "sms-" + $0 })
                .filter(\.$status == .pending).set(\.$status, to: .cancelled).update()
        }
        let remindAt = interview.startsAt - Double(company.reminderHours) * 3600
        guard !cancelled, remindAt > now + 3600 else { return }
        try await composer.send(
            .interviewReminder, to: candidate, application: application, job: job, extra: extra,
            dedupeKey: "reminder:\(interview.uid):\(interview.sequence)", sendAt: remindAt)
        // And by text, when the candidate gave a number and agreed (refusals are simply no text).
        _ = try await TextMessages.queue(
            TextMessages.reminder(interview, company: company.name, language: language), kind: "interview_reminder",
            to: candidate, dedupeKey: "sms-reminder:\(interview.uid):\(interview.sequence)", sendAt: remindAt,
            config: composer.config, on: db, now: now)
    }

    /// The interview fields of the templates.
    static func details(_ interview: Interview, zone: TimeZone, language: Language, pack: [[String: String]])
        -> [String: Any]
    {
        let when = interview.startsAt.formatted(
            Date.FormatStyle(date: .complete, time: .shortened, locale: language.locale, timeZone: zone))
        return [
            "interview": [
                "when": when, "time_zone": zone.identifier, "duration_minutes": interview.durationMinutes,
                "location": interview.location.isEmpty ? nil : interview.location,
                "video_url": interview.videoURL.isEmpty ? nil : interview.videoURL,
                "interviewers": interview.interviewers.isEmpty ? nil : interview.interviewers,
            ] as [String: Any?],
            "has_prep_pack": !pack.isEmpty,
            "prep_pack": pack,
        ]
    }

    /// The preparation resources of the stage being prepared, for its job or all jobs, in the candidate's
    /// language; each behind a signed link that notes the opening on the timeline.
    static func prepPack(
        for application: JobApplication, candidate: Candidate, language: Language, composer: Composer
    ) async throws -> [[String: String]] {
        // An interview is often booked before the card moves: until the offer stage, it prepares the interview.
        let stage = try await application.$stage.get(on: composer.db)
        let resources = try await PrepResource.forStage(
            stage?.kind == .offer ? .offer : .interview, jobID: application.$job.id, language: language,
            on: composer.db)
        let candidateID = try candidate.requireID()
        return try resources.map { resource in
            let token = SignedLink.make(
                ["prep", try resource.requireID().lowercasedString, candidateID.lowercasedString],
                expires: composer.now + 365 * 86_400, secret: composer.config.secret)
            return [
                "title": resource.title, "summary": resource.summary,
                "url": composer.config.publicURL + SiteURL.prepResource(token),
            ]
        }
    }
}

import Fluent
import SQLKit
import Vapor
import VivierCore
import VivierMail

/// Moment 2: the acknowledgement, queued in the same transaction as the application. It thanks the candidate,
/// states the delay the company actually practises (from its own recent history), the date that makes, and the
/// next steps of this job's pipeline. The promised date is stored on the application.
struct Acknowledgement {
    let db: any Database
    let mail: MailSettings
    let secret: [UInt8]
    let now: Date
    let calendar: WorkingCalendar

    init(db: any Database, mail: MailSettings, secret: [UInt8], now: Date) {
        self.db = db
        self.mail = mail
        self.secret = secret
        self.now = now
        self.calendar = WorkingCalendar.france(around: now)
    }

    /// Queues the acknowledgement of `application` (once: a re-application does not send a second one).
    func queue(for application: JobApplication, candidate: Candidate, job: Job?) async throws {
        let applicationID = try application.requireID()
        let language = Language(rawValue: candidate.language) ?? .fr
        let delay = try await practisedDelay(job: job)
        let promised = calendar.adding(workingDays: delay.workingDays, to: now)
        let company = try await Company.load(on: db)
        var stages: [Stage] = []
        if let jobID = job?.id {
            stages = try await Stage.query(on: db).filter(\.$job.$id == jobID).sort(\.$position).all()
        }
        let steps = stages.filter { $0.kind != .new && $0.kind != .hired }.map { $0.name(in: language) }

        let message = try Self.message(
            language: language, candidate: candidate, jobTitle: job?.title, company: company.name,
            delay: delay.workingDays,
            promised: promised, steps: steps, from: mail.from)
        let queued = try await Outbox.enqueue(
            message, kind: "acknowledgement", dedupeKey: "ack:\(applicationID.uuidString.lowercased())",
            transactional: true,
            candidateID: candidate.id, tracking: secret, on: db, now: now)
        if queued {
            application.promisedBy = promised
            application.promisedWorkingDays = delay.workingDays
            application.promiseBasis = delay.basis.rawValue
            try await application.save(on: db)
        }
    }

    /// The delay practised for this job: p80 of working days to first decision over 90 days, narrowest scope with
    /// enough decisions; the job's target otherwise.
    func practisedDelay(job: Job?) async throws -> ResponseDelay {
        // One row per recent application that has had a decision: it runs on every application, so the database
        // does the grouping and nothing is decoded as a model.
        struct Decision: Decodable {
            var applied: Date
            var job_id: UUID
            var department: String
            var decided: Date
        }
        let decisions = try await db.sql().raw(
            """
            SELECT a.created_at AS applied, a.job_id AS job_id, j.department AS department, MIN(i.created_at) AS decided
            FROM applications a
            JOIN jobs j ON j.id = a.job_id
            JOIN interactions i ON i.application_id = a.id AND i.kind IN ('stage_changed', 'rejected', 'withdrawn')
            WHERE a.created_at >= \(bind: now - ResponseDelay.window)
            GROUP BY a.id, a.created_at, a.job_id, j.department
            """
        ).all(decoding: Decision.self)
        var jobSamples: [Double] = [], departmentSamples: [Double] = [], companySamples: [Double] = []
        for decision in decisions {
            let days = calendar.workingDays(from: decision.applied, to: decision.decided)
            companySamples.append(days)
            if let job, decision.department == job.department { departmentSamples.append(days) }
            if let job, decision.job_id == job.id { jobSamples.append(days) }
        }
        return ResponseDelay.estimate(
            job: jobSamples, department: departmentSamples, company: companySamples,
            targetDays: job?.responseTargetDays ?? 14)
    }

    /// The message in the candidate's language: warm, short, with what happens next.
    static func message(
        language: Language, candidate: Candidate, jobTitle: String?, company: String, delay: Int, promised: Date,
        steps: [String], from: MailAddress
    ) throws -> MailMessage {
        let date = Dates.day(promised, language)
        let fr = language == .fr
        let what = jobTitle.map { fr ? "pour le poste « \($0) »" : "for the \($0) position" } ?? (fr ? "spontanée" : "")
        let subject =
            jobTitle.map {
                fr ? "Nous avons bien reçu votre candidature — \($0)" : "We have received your application — \($0)"
            }
            ?? (fr ? "Nous avons bien reçu votre candidature spontanée" : "We have received your application")
        var lines: [String] = []
        lines.append(fr ? "Bonjour \(candidate.firstName)," : "Hello \(candidate.firstName),")
        lines.append("")
        lines.append(
            fr
                ? "Merci pour votre candidature \(what) chez \(company). Elle est bien arrivée et une personne de l'équipe recrutement va la lire."
                : "Thank you for applying \(what) at \(company). It has arrived safely and someone from the recruiting team will read it."
        )
        lines.append("")
        lines.append(
            fr
                ? "Vous aurez une réponse sous \(delay) jour\(delay > 1 ? "s" : "") ouvré\(delay > 1 ? "s" : ""), au plus tard le \(date) — c'est le délai que nous tenons en pratique ces derniers mois, quelle que soit la réponse."
                : "You will hear from us within \(delay) working day\(delay > 1 ? "s" : ""), by \(date) at the latest — that is the delay we have actually kept in recent months, whatever the answer."
        )
        if !steps.isEmpty {
            lines.append("")
            lines.append(
                fr
                    ? "Les prochaines étapes, si votre profil est retenu :"
                    : "The next steps, if your profile is selected:")
            for (index, step) in steps.enumerated() { lines.append("\(index + 1). \(step)") }
        }
        lines.append("")
        lines.append(
            fr
                ? "Vous pouvez répondre directement à cet email pour toute question."
                : "You can reply to this email with any question.")
        lines.append("")
        lines.append(
            fr ? "À bientôt,\nL'équipe recrutement de \(company)" : "Best regards,\nThe \(company) recruiting team")
        let text = lines.joined(separator: "\n")
        return try CandidateMail.message(from: from, company: company, to: candidate, subject: subject, text: text)
    }
}

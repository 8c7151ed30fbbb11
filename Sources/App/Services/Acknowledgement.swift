import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Vapor
import VivierCore
import VivierMail

/// Moment 2: the acknowledgement, queued in the same transaction as the application. It thanks the candidate,
/// states the delay the company actually practises (from its own recent history), the date that makes, and the
/// next steps of this job's pipeline. The promised date is stored on the application.
struct Acknowledgement {
    let composer: Composer
    let calendar: WorkingCalendar
    var db: any Database { composer.db }
    var now: Date { composer.now }

    init(composer: Composer) {
        self.composer = composer
        self.calendar = WorkingCalendar.france(around: composer.now)
    }

    /// Queues the acknowledgement of `application` (once: a re-application does not send a second one).
    func queue(for application: JobApplication, candidate: Candidate, job: Job?) async throws {
        let applicationID = try application.requireID()
        let language = Language(rawValue: candidate.language) ?? .fr
        let delay = try await practisedDelay(job: job)
        let promised = calendar.adding(workingDays: delay.workingDays, to: now)
        var steps: [Stage] = []
        if let jobID = job?.id {
            steps = try await Stage.query(on: db).filter(\.$job.$id == jobID).sort(\.$position).all()
                .filter { $0.kind != .new && $0.kind != .hired }
        }
        let queued = try await composer.send(
            .acknowledgement, to: candidate, application: application, job: job,
            extra: [
                "delay": [
                    "working_days": delay.workingDays, "phrase": Composer.delayPhrase(delay.workingDays, language),
                ],
                "promised_date": Dates.day(promised, language),
                "has_next_steps": !steps.isEmpty,
                "next_steps": steps.enumerated().map {
                    ["number": $0.offset + 1, "name": $0.element.name(in: language)]
                },
            ],
            dedupeKey: "ack:\(applicationID.lowercasedString)")
        if queued {
            application.promisedBy = promised
            application.promisedWorkingDays = delay.workingDays
            application.promiseBasis = delay.basis.rawValue
            try await application.save(on: db)
        }
    }

    private struct Span: Hashable {
        var year: Int
        var from: Date
        var to: Date
    }

    /// Working days of past decisions, remembered: a decision's span never changes, and every acknowledgement needs
    /// the last 90 days of them (day-by-day calendar arithmetic was a fifth of an application's cost).
    private static let spans = NIOLockedValueBox<[Span: Double]>([:])

    private static func workingDays(from start: Date, to end: Date, in calendar: WorkingCalendar, year: Int) -> Double {
        let span = Span(year: year, from: start, to: end)
        if let known = spans.withLockedValue({ $0[span] }) { return known }
        let days = calendar.workingDays(from: start, to: end)
        spans.withLockedValue { spans in
            if spans.count > 200_000 { spans.removeAll() }
            spans[span] = days
        }
        return days
    }

    /// The delay practised for this job: p80 of working days to first decision over 90 days, narrowest scope with
    /// enough decisions; the job's target otherwise.
    func practisedDelay(job: Job?) async throws -> ResponseDelay {
        // One row per recent application that has had a decision, read from the first-decision fact the database
        // keeps on each application (it runs on every application: no join to the timeline, no model decoding).
        struct Decision: Decodable {
            var applied: Date
            var job_id: UUID
            var department: String
            var decided: Date
        }
        let decisions = try await db.sql().raw(
            """
            SELECT a.created_at AS applied, a.job_id AS job_id, j.department AS department, a.first_decision_at AS decided
            FROM applications a
            JOIN jobs j ON j.id = a.job_id
            WHERE a.created_at >= \(bind: now - ResponseDelay.window) AND a.first_decision_at IS NOT NULL
            """
        ).all(decoding: Decision.self)
        let year = Calendar(identifier: .gregorian).component(.year, from: now)
        var jobSamples: [Double] = [], departmentSamples: [Double] = [], companySamples: [Double] = []
        for decision in decisions {
            let days = Self.workingDays(from: decision.applied, to: decision.decided, in: calendar, year: year)
            companySamples.append(days)
            if let job, decision.department == job.department { departmentSamples.append(days) }
            if let job, decision.job_id == job.id { jobSamples.append(days) }
        }
        return ResponseDelay.estimate(
            job: jobSamples, department: departmentSamples, company: companySamples,
            targetDays: job?.responseTargetDays ?? 14)
    }
}

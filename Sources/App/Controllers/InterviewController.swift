import Fluent
import Vapor
import VivierCore

/// Scheduling, moving and cancelling interviews; each change sends the candidate an invitation, an update or a
/// cancellation of the same calendar event.
struct InterviewController {
    struct Form: Content {
        var date: String?
        var time: String?
        var time_zone: String?
        var duration: String?
        var location: String?
        var video_url: String?
        var interviewers: String?
        var back: String?
    }

    static let timeZones = [
        "Europe/Paris", "Europe/Brussels", "Europe/Zurich", "Europe/London", "America/Montreal", "UTC",
    ]
    static let durations = [30, 45, 60, 90, 120]

    @Sendable func schedule(req: Request) async throws -> Response {
        let access = try await Access.of(req)
        let application = try await access.application(req.uuidParameter("id"), on: req.db)
        guard application.outcome == .active else { throw Abort(.conflict, reason: req.t("error.application_closed")) }
        let applicationID = try application.requireID()
        let interview = Interview(
            applicationID: applicationID, uid: "interview-\(UUID().lowercasedString)@vivier")
        try apply(try req.content.decode(Form.self), to: interview, req)
        try await save(
            interview, detail: "interview: \(Dates.dayTime(interview.startsAt, req.language))", by: access, req)
        return req.redirect(to: back(req), flash: "flash.interview_scheduled")
    }

    @Sendable func reschedule(req: Request) async throws -> Response {
        let (interview, access) = try await find(req)
        guard interview.status == .scheduled else { throw Abort(.conflict, reason: req.t("error.interview_cancelled")) }
        try apply(try req.content.decode(Form.self), to: interview, req)
        interview.sequence += 1
        try await save(
            interview, detail: "interview moved: \(Dates.dayTime(interview.startsAt, req.language))", by: access, req)
        return req.redirect(to: back(req), flash: "flash.interview_moved")
    }

    @Sendable func cancel(req: Request) async throws -> Response {
        let (interview, access) = try await find(req)
        guard interview.status == .scheduled else { throw Abort(.conflict, reason: req.t("error.interview_cancelled")) }
        interview.status = .cancelled
        interview.sequence += 1
        try await save(interview, detail: "interview cancelled", by: access, req)
        return req.redirect(to: back(req), flash: "flash.interview_cancelled")
    }

    /// The candidate did not come: recorded for the ghosting indicators, nothing is sent.
    @Sendable func noShow(req: Request) async throws -> Response {
        let (interview, access) = try await find(req)
        guard interview.status == .scheduled, interview.startsAt < req.now else {
            throw Abort(.conflict, reason: req.t("error.interview_not_past"))
        }
        let application = try await interview.$application.get(on: req.db)
        try await req.db.transaction { db in
            interview.status = .noShow
            try await interview.save(on: db)
            try await Interaction(
                candidateID: application.$candidate.id, applicationID: application.id, actorID: access.user.id,
                kind: .noShow, detail: Dates.dayTime(interview.startsAt, req.language), at: req.now
            ).create(on: db)
        }
        return req.redirect(to: back(req), flash: "flash.no_show_recorded")
    }

    private func save(_ interview: Interview, detail: String, by access: Access, _ req: Request) async throws {
        try await Self.store(interview, detail: detail, by: access.user, app: req.application, now: req.now)
    }

    /// Stores the interview, notes it on the timeline and queues what the candidate must receive: one transaction.
    static func store(_ interview: Interview, detail: String, by user: User?, app: Application, now: Date) async throws
    {
        try await app.db.writeTransaction { db in
            try await interview.save(on: db)
            let application = try await interview.$application.get(on: db)
            try await Interaction(
                candidateID: application.$candidate.id, applicationID: application.id, actorID: user?.id,
                kind: .message,
                detail: detail, at: now
            ).create(on: db)
            try await Invitation.queue(interview, composer: Composer(db: db, app: app, now: now))
        }
    }

    private func find(_ req: Request) async throws -> (Interview, Access) {
        let access = try await Access.of(req)
        guard let id = req.uuidParameter("id"), let interview = try await Interview.find(id, on: req.db) else {
            throw Abort(.notFound)
        }
        _ = try await access.application(interview.$application.id, on: req.db)
        return (interview, access)
    }

    /// Validates the form into the interview, or refuses it with the field's message.
    private func apply(_ form: Form, to interview: Interview, _ req: Request) throws {
        let zoneName = form.time_zone ?? "Europe/Paris"
        guard Self.timeZones.contains(zoneName), let zone = TimeZone(identifier: zoneName) else {
            throw Abort(.unprocessableEntity, reason: req.t("error.choose"))
        }
        guard let dateText = form.date, let timeText = form.time,
            let start = Self.parse(date: dateText, time: timeText, in: zone)
        else {
            throw Abort(.unprocessableEntity, reason: req.t("error.interview_when"))
        }
        guard start > req.now else { throw Abort(.unprocessableEntity, reason: req.t("error.interview_past")) }
        guard let duration = Int(form.duration ?? "60"), Self.durations.contains(duration) else {
            throw Abort(.unprocessableEntity, reason: req.t("error.choose"))
        }
        let video = (form.video_url ?? "").trimmed
        if !video.isEmpty {
            guard let url = URL(string: video), ["https", "http"].contains(url.scheme ?? ""), url.host != nil,
                !video.contains(where: \.isWhitespace)
            else {
                throw Abort(.unprocessableEntity, reason: req.t("error.url_invalid"))
            }
        }
        let location = String((form.location ?? "").trimmed.filter { !$0.isNewline }.prefix(300))
        guard !location.isEmpty || !video.isEmpty else {
            throw Abort(.unprocessableEntity, reason: req.t("error.interview_where"))
        }
        interview.startsAt = start
        interview.timeZone = zoneName
        interview.durationMinutes = duration
        interview.location = location
        interview.videoURL = video
        interview.interviewers = String((form.interviewers ?? "").trimmed.filter { !$0.isNewline }.prefix(300))
    }

    /// `2026-12-03` + `14:30` in `zone`.
    static func parse(date: String, time: String, in zone: TimeZone) -> Date? {
        let d = date.split(separator: "-").compactMap { Int($0) }, t = time.split(separator: ":").compactMap { Int($0) }
        guard d.count == 3, t.count >= 2, (1...12).contains(d[1]), (1...31).contains(d[2]), (0...23).contains(t[0]),
            (0...59).contains(t[1])
        else {
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let components = DateComponents(year: d[0], month: d[1], day: d[2], hour: t[0], minute: t[1])
        guard let result = calendar.date(from: components), calendar.component(.day, from: result) == d[2] else {
            return nil
        }
        return result
    }

    private func back(_ req: Request) -> String {
        let path = (try? req.content.decode(Form.self))?.back ?? ""
        return path.hasPrefix("/app/") && !path.hasPrefix("//") ? path : SiteURL.candidates
    }
}

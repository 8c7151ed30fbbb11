import Fluent
import Foundation
import Testing
import Vapor
import VivierMail

@testable import App

@Suite("Interview invitations, updates and cancellations")
struct InterviewTests {
    static func calendar(_ row: OutboxMessage, _ app: Application) async throws -> String {
        (MailReader(Array(try await row.body(on: app.db).utf8)).part("text/calendar")?.text ?? "")
            .replacingOccurrences(
                of: "\r\n ", with: "")
    }

    @Test func schedule_move_cancel_keepTheUIDAndRaiseTheSequence() async throws {
        try await withApp { app, _ in
            let (browser, application) = try await RejectionTests.setUp(app)
            let base = SiteURL.application(try application.requireID())
            // 1 October 2026 (the clock is at 21 September), 14:30 in Paris.
            let scheduled = try await browser.post(
                base + "/interviews",
                [
                    ("date", "2026-10-01"), ("time", "14:30"), ("time_zone", "Europe/Paris"), ("duration", "45"),
                    ("location", "12 rue de la Paix, Paris"), ("video_url", ""), ("interviewers", "Camille Roux"),
                ])
            #expect(scheduled.status == .seeOther)
            let interview = try #require(try await Interview.query(on: app.db).first())
            #expect(ISO8601DateFormatter().string(from: interview.startsAt) == "2026-10-01T12:30:00Z")
            let invitation = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "interview_invitation").first())
            let ics = try await Self.calendar(invitation, app)
            #expect(
                ics.contains("METHOD:REQUEST") && ics.contains("UID:\(interview.uid)") && ics.contains("SEQUENCE:0"))
            #expect(
                ics.contains("DTSTART;TZID=Europe/Paris:20261001T143000")
                    && ics.contains("DTEND;TZID=Europe/Paris:20261001T151500"))
            #expect(ics.contains("ATTENDEE;CN=\"Hélène Lefèvre\""))
            let text = MailReader(Array((try await invitation.body(on: app.db)).utf8)).part("text/plain")?.text ?? ""
            #expect(text.contains("12 rue de la Paix") && text.contains("45 min") && text.contains("Camille Roux"))

            let id = try interview.requireID().uuidString.lowercased()
            #expect(
                try await browser.post(
                    "/app/interviews/\(id)",
                    [
                        ("date", "2026-10-02"), ("time", "10:00"), ("time_zone", "Europe/Paris"), ("duration", "60"),
                        ("location", ""),
                        ("video_url", "https://meet.example/abc"),
                    ]
                ).status == .seeOther)
            let update = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$dedupeKey == "interview:\(interview.uid):1").first()
            )
            let updateICS = try await Self.calendar(update, app)
            #expect(updateICS.contains("SEQUENCE:1") && updateICS.contains("UID:\(interview.uid)"))
            #expect(
                MailReader(Array((try await update.body(on: app.db)).utf8)).header("Subject")?.hasPrefix(
                    "Entretien déplacé") == true)

            #expect(try await browser.post("/app/interviews/\(id)/cancel", []).status == .seeOther)
            let cancel = try #require(
                try await OutboxMessage.query(on: app.db).filter(\.$kind == "interview_cancelled").first())
            let cancelICS = try await Self.calendar(cancel, app)
            #expect(cancelICS.contains("METHOD:CANCEL") && cancelICS.contains("SEQUENCE:2"))
            #expect(cancelICS.contains("STATUS:CANCELLED"))
            #expect(try await browser.post("/app/interviews/\(id)/cancel", []).status == .conflict)
            // One reminder per version, held until the day before; the moved and cancelled versions' reminders are off.
            let reminders = try await OutboxMessage.query(on: app.db).filter(\.$kind == "interview_reminder").sort(
                \.$dedupeKey
            ).all()
            #expect(reminders.map(\.status) == [.cancelled, .cancelled])
            #expect(ISO8601DateFormatter().string(from: reminders[0].nextAttemptAt) == "2026-09-30T12:30:00Z")
            // Every message goes through a real parser without defects: see VivierMailTests for the calendar part.
            let page = try await browser.get(SiteURL.candidate(application.$candidate.id))
            #expect(page.body.contains("Annulé") && page.body.contains("Invitation à un entretien"))
        }
    }

    @Test(arguments: [
        [("date", "2026-09-01"), ("time", "10:00"), ("location", "Paris")],  // in the past
        [("date", "2026-13-01"), ("time", "10:00"), ("location", "Paris")],  // no such month
        [("date", "2026-10-01"), ("time", "25:00"), ("location", "Paris")],  // no such hour
        [("date", "2026-10-01"), ("time", "10:00")],  // neither place nor link
        [("date", "2026-10-01"), ("time", "10:00"), ("video_url", "javascript:alert(1)")],
        [("date", "2026-10-01"), ("time", "10:00"), ("location", "Paris"), ("time_zone", "Mars/Olympus")],
    ])
    func invalidInterview_isRefusedAndNothingSent(fields: [(String, String)]) async throws {
        try await withApp { app, _ in
            let (browser, application) = try await RejectionTests.setUp(app)
            let response = try await browser.post(
                SiteURL.application(try application.requireID()) + "/interviews", fields)
            #expect(response.status == .unprocessableEntity)
            #expect(try await Interview.query(on: app.db).count() == 0)
            #expect(try await OutboxMessage.query(on: app.db).count() == 0)
        }
    }
}

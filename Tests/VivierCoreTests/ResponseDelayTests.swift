import Foundation
import Testing
import VivierCore

@Suite("The practised response delay")
struct ResponseDelayTests {
    @Test func percentile_interpolates() {
        #expect(ResponseDelay.percentileValue([1, 2, 3, 4, 5], 0.8) == 4.2)
        #expect(ResponseDelay.percentileValue([7], 0.8) == 7)
        #expect(ResponseDelay.percentileValue([], 0.8) == 0)
    }

    @Test func estimate_prefersTheNarrowestScopeWithEnoughHistory() {
        let ten = (1...10).map(Double.init)
        #expect(
            ResponseDelay.estimate(job: ten, department: [], company: [], targetDays: 14)
                == .init(workingDays: 9, basis: .job, sampleSize: 10))
        #expect(
            ResponseDelay.estimate(job: [1, 2], department: ten.map { $0 / 2 }, company: [], targetDays: 14).basis
                == .department)
        #expect(ResponseDelay.estimate(job: [1], department: [2], company: ten, targetDays: 14).basis == .company)
        // Not enough decisions anywhere: the configured target, in working days.
        #expect(
            ResponseDelay.estimate(job: [1], department: [], company: [], targetDays: 14)
                == .init(workingDays: 10, basis: .target, sampleSize: 0))
        // Same-day decisions still promise one day.
        #expect(
            ResponseDelay.estimate(job: Array(repeating: 0.1, count: 12), department: [], company: [], targetDays: 14)
                .workingDays == 1)
    }

    @Test func workingCalendar_skipsWeekendsAndHolidays() throws {
        let calendar = WorkingCalendar(holidays: WorkingCalendar.frenchHolidays(2026))
        #expect(
            WorkingCalendar.frenchHolidays(2026).isSuperset(of: [
                "2026-04-06", "2026-05-14", "2026-05-25", "2026-07-14", "2026-12-25",
            ]))
        let formatter = ISO8601DateFormatter()
        // Thursday 24 Dec 2026, 10:00 Paris: 3 working days → Wed 30 Dec (25 Dec and the weekend skipped).
        let friday = try #require(formatter.date(from: "2026-12-24T09:00:00Z"))
        let promised = calendar.adding(workingDays: 3, to: friday)
        #expect(formatter.string(from: promised) == "2026-12-30T22:59:00Z")
        // A weekend between two moments counts for nothing.
        let saturday = try #require(formatter.date(from: "2026-11-28T09:00:00Z"))
        let monday = try #require(formatter.date(from: "2026-11-30T11:00:00Z"))
        #expect(abs(calendar.workingDays(from: saturday, to: monday) - 12.0 / 24) < 0.01)
    }
}

@Suite("Business hours")
struct BusinessHoursTests {
    let calendar = WorkingCalendar(holidays: WorkingCalendar.frenchHolidays(2026))
    let iso = ISO8601DateFormatter()

    func next(_ utc: String) -> String { iso.string(from: calendar.nextBusinessMoment(from: iso.date(from: utc)!)) }

    @Test func messagesWaitForTheNextOpening() {
        #expect(next("2026-11-30T10:00:00Z") == "2026-11-30T10:00:00Z")  // Monday 11:00 Paris: now
        #expect(next("2026-11-30T06:30:00Z") == "2026-11-30T08:00:00Z")  // Monday 7:30: at 9:00
        #expect(next("2026-11-30T19:00:00Z") == "2026-12-01T08:00:00Z")  // Monday 20:00: Tuesday 9:00
        #expect(next("2026-12-05T10:00:00Z") == "2026-12-07T08:00:00Z")  // Saturday: Monday 9:00
        #expect(next("2026-12-24T18:00:00Z") == "2026-12-28T08:00:00Z")  // Christmas Eve evening: Monday 28
    }
}

import Foundation

/// The processing delay a company actually practises, computed from its own history rather than typed: the 80th
/// percentile of the time from application to first decision, for the job, else its department, else the company,
/// over the last 90 days and only with enough decisions to mean something; else the job's configured target.
public struct ResponseDelay: Equatable, Sendable {
    public enum Basis: String, Sendable {
        case job, department, company, target
    }

    /// Working days, rounded up: what the acknowledgement promises.
    public var workingDays: Int
    public var basis: Basis
    public var sampleSize: Int

    public init(workingDays: Int, basis: Basis, sampleSize: Int) {
        self.workingDays = workingDays
        self.basis = basis
        self.sampleSize = sampleSize
    }

    public static let percentile = 0.8
    public static let minimumSample = 10
    public static let window: TimeInterval = 90 * 86_400

    /// - Parameters:
    ///   - job, department, company: delays in working days of recent first decisions at each scope.
    ///   - targetDays: the job's configured response target, in calendar days.
    public static func estimate(job: [Double], department: [Double], company: [Double], targetDays: Int)
        -> ResponseDelay
    {
        for (samples, basis) in [(job, Basis.job), (department, .department), (company, .company)]
        where samples.count >= minimumSample {
            let days = max(1, Int(percentileValue(samples, percentile).rounded(.up)))
            return ResponseDelay(workingDays: days, basis: basis, sampleSize: samples.count)
        }
        // A calendar target of 14 days is 10 working days.
        return ResponseDelay(
            workingDays: max(1, Int((Double(targetDays) * 5 / 7).rounded(.up))), basis: .target, sampleSize: 0)
    }

    /// Linear interpolation between closest ranks.
    public static func percentileValue(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let rank = p * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down)), upper = Int(rank.rounded(.up))
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }
}

/// Working days in a given time zone: Monday to Friday, minus the company's holidays.
public struct WorkingCalendar: Sendable {
    public var timeZone: TimeZone
    /// Holidays as `yyyy-MM-dd` in the calendar's time zone.
    public var holidays: Set<String>

    public init(timeZone: TimeZone = TimeZone(identifier: "Europe/Paris")!, holidays: Set<String> = []) {
        self.timeZone = timeZone
        self.holidays = holidays
    }

    var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    public func isWorkingDay(_ date: Date) -> Bool {
        let calendar = self.calendar
        let weekday = calendar.component(.weekday, from: date)
        guard weekday != 1 && weekday != 7 else { return false }
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return !holidays.contains(String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!))
    }

    /// The end of the day `days` working days after `date` (the day of `date` itself does not count).
    public func adding(workingDays days: Int, to date: Date) -> Date {
        let calendar = self.calendar
        var day = calendar.startOfDay(for: date)
        var remaining = days
        while remaining > 0 {
            day = calendar.date(byAdding: .day, value: 1, to: day)!
            if isWorkingDay(day) { remaining -= 1 }
        }
        return calendar.date(byAdding: DateComponents(hour: 23, minute: 59), to: day)!
    }

    /// Working days between two moments, counting partial days as fractions of a calendar day.
    public func workingDays(from start: Date, to end: Date) -> Double {
        guard end > start else { return 0 }
        let calendar = self.calendar
        var total = 0.0
        var cursor = start
        while cursor < end {
            let nextDay = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: cursor))!
            let sliceEnd = min(nextDay, end)
            if isWorkingDay(cursor) { total += sliceEnd.timeIntervalSince(cursor) / 86_400 }
            cursor = sliceEnd
        }
        return total
    }

    /// The moment itself when it falls in business hours (working day, 9:00 to 18:00), else 9:00 on the next working
    /// day: when a considerate message should arrive.
    public func nextBusinessMoment(from date: Date, opening: Int = 9, closing: Int = 18) -> Date {
        let calendar = self.calendar
        let hour = calendar.component(.hour, from: date)
        if isWorkingDay(date) && hour >= opening && hour < closing { return date }
        var day = calendar.startOfDay(for: date)
        if !(isWorkingDay(date) && hour < opening) {
            repeat { day = calendar.date(byAdding: .day, value: 1, to: day)! } while !isWorkingDay(day)
        }
        return calendar.date(byAdding: .hour, value: opening, to: day)!
    }

    /// Paris time with the French public holidays of this year and the next: what the candidate messages count in.
    public static func france(around date: Date) -> WorkingCalendar {
        let year = Calendar(identifier: .gregorian).component(.year, from: date)
        return WorkingCalendar(holidays: frenchHolidays(year).union(frenchHolidays(year + 1)))
    }

    /// French public holidays of a year (fixed ones and those that follow Easter), as `yyyy-MM-dd`.
    public static func frenchHolidays(_ year: Int) -> Set<String> {
        // Anonymous Gregorian algorithm for Easter Sunday.
        let a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7,
            m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let easter = calendar.date(from: DateComponents(year: year, month: month, day: day))!
        func text(_ date: Date) -> String {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        }
        let movable = [1, 39, 50].map { text(calendar.date(byAdding: .day, value: $0, to: easter)!) }
        let fixed = ["01-01", "05-01", "05-08", "07-14", "08-15", "11-01", "11-11", "12-25"].map { "\(year)-\($0)" }
        return Set(fixed + movable)
    }
}

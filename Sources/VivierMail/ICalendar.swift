import Foundation

/// An interview as an iCalendar object (RFC 5545) with the iTIP method (RFC 5546) that makes calendars offer to add,
/// update or remove it. Updates and cancellations keep the `uid` and raise `sequence`.
public struct ICalendarEvent: Sendable {
    public enum Method: String, Sendable {
        case request = "REQUEST"
        case cancel = "CANCEL"
        /// A file to add to one's own calendar (the portal's "add to calendar"), not an invitation to answer.
        case publish = "PUBLISH"
    }

    public struct Person: Sendable {
        public var name: String
        public var email: String

        public init(name: String, email: String) {
            self.name = name
            self.email = email
        }
    }

    public var method: Method
    public var uid: String
    public var sequence: Int
    public var start: Date
    public var end: Date
    /// An IANA zone (`Europe/Paris`) to express times in local time with TZID; nil writes UTC times.
    public var timeZone: TimeZone?
    public var summary: String
    public var description: String
    public var location: String?
    public var url: String?
    public var organizer: Person
    public var attendees: [Person]
    public var stamp: Date

    public init(
        method: Method, uid: String, sequence: Int, start: Date, end: Date, timeZone: TimeZone? = nil, summary: String,
        description: String,
        location: String? = nil, url: String? = nil, organizer: Person, attendees: [Person], stamp: Date = Date()
    ) {
        self.method = method
        self.uid = uid
        self.sequence = sequence
        self.start = start
        self.end = end
        self.timeZone = timeZone
        self.summary = summary
        self.description = description
        self.location = location
        self.url = url
        self.organizer = organizer
        self.attendees = attendees
        self.stamp = stamp
    }

    /// The `.ics` text: CRLF line ends, lines folded at 75 octets without splitting a UTF-8 character.
    public func render() throws(MailError) -> String {
        for (field, value) in [("uid", uid), ("organizer", organizer.email)] + attendees.map({ ("attendee", $0.email) })
        {
            guard !value.hasLineBreakOrNUL,
                !value.contains(where: { $0 == ":" && field == "uid" || $0 == ";" || $0 == "\"" })
            else {
                throw .forbiddenCharacter(field: field)
            }
        }
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Vivier//Interview scheduling//FR", "CALSCALE:GREGORIAN",
            "METHOD:\(method.rawValue)",
        ]
        if let zone = timeZone { lines += Self.timeZoneBlock(zone, around: start) }
        lines += [
            "BEGIN:VEVENT",
            "UID:\(uid)",
            "SEQUENCE:\(sequence)",
            "DTSTAMP:\(Self.utc(stamp))",
            timeZone.map { "DTSTART;TZID=\($0.identifier):\(Self.local(start, $0))" } ?? "DTSTART:\(Self.utc(start))",
            timeZone.map { "DTEND;TZID=\($0.identifier):\(Self.local(end, $0))" } ?? "DTEND:\(Self.utc(end))",
            "SUMMARY:\(Self.text(summary))",
            "DESCRIPTION:\(Self.text(description))",
        ]
        if let location { lines.append("LOCATION:\(Self.text(location))") }
        if let url { lines.append("URL:\(Self.text(url))") }
        lines.append("ORGANIZER;CN=\(Self.parameter(organizer.name)):mailto:\(organizer.email)")
        // PUBLISH carries no attendees (RFC 5546, 3.2.1): it is a copy of the event, not a request to answer.
        for attendee in method == .publish ? [] : attendees {
            lines.append(
                "ATTENDEE;CN=\(Self.parameter(attendee.name));ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:\(attendee.email)"
            )
        }
        lines += [
            "STATUS:\(method == .cancel ? "CANCELLED" : "CONFIRMED")", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR",
        ]
        return lines.map(Self.folded).joined(separator: "\r\n") + "\r\n"
    }

    /// TEXT value escaping (RFC 5545 §3.3.11).
    static func text(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ";", with: "\\;")
            .replacingOccurrences(of: ",", with: "\\,")
            .replacingOccurrences(of: "\r\n", with: "\\n").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\r", with: "\\n")
    }

    /// A parameter value, quoted; the grammar has no escape, so quotes and controls are dropped (RFC 5545 §3.2).
    static func parameter(_ value: String) -> String {
        "\"" + value.filter { $0 != "\"" && !$0.isNewline && $0 != "\0" } + "\""
    }

    /// Folds a content line at 75 octets, continuing with a space, between whole UTF-8 characters (§3.1).
    static func folded(_ line: String) -> String {
        var output = ""
        var count = 0
        for character in line {
            let size = String(character).utf8.count
            if count + size > 75 {
                output += "\r\n "
                count = 1
            }
            output.append(character)
            count += size
        }
        return output
    }

    static func utc(_ date: Date) -> String { format(date, "yyyyMMdd'T'HHmmss'Z'", TimeZone(identifier: "UTC")!) }
    static func local(_ date: Date, _ zone: TimeZone) -> String { format(date, "yyyyMMdd'T'HHmmss", zone) }

    static func format(_ date: Date, _ pattern: String, _ zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }

    /// A VTIMEZONE with the offset in force at the event (and, when the zone observes it, the other half of the
    /// year), enough for clients that do not know the TZID.
    static func timeZoneBlock(_ zone: TimeZone, around date: Date) -> [String] {
        func offset(_ seconds: Int) -> String {
            let sign = seconds < 0 ? "-" : "+"
            let value = abs(seconds)
            return String(format: "%@%02d%02d", sign, value / 3600, (value % 3600) / 60)
        }
        var lines = ["BEGIN:VTIMEZONE", "TZID:\(zone.identifier)"]
        let current = zone.secondsFromGMT(for: date)
        guard let transition = zone.nextDaylightSavingTimeTransition(after: date.addingTimeInterval(-366 * 86_400))
        else {
            return lines + [
                "BEGIN:STANDARD", "DTSTART:19700101T000000", "TZOFFSETFROM:\(offset(current))",
                "TZOFFSETTO:\(offset(current))", "END:STANDARD", "END:VTIMEZONE",
            ]
        }
        // Walk the transitions of the year around the event and describe each one.
        var moment = transition
        var seen = 0
        var previous = zone.secondsFromGMT(for: transition.addingTimeInterval(-1))
        while seen < 3, moment < date.addingTimeInterval(366 * 86_400) {
            let after = zone.secondsFromGMT(for: moment)
            let kind = zone.isDaylightSavingTime(for: moment) ? "DAYLIGHT" : "STANDARD"
            lines += [
                "BEGIN:\(kind)", "DTSTART:\(local(moment, TimeZone(secondsFromGMT: previous)!))",
                "TZOFFSETFROM:\(offset(previous))",
                "TZOFFSETTO:\(offset(after))", "END:\(kind)",
            ]
            previous = after
            seen += 1
            guard let next = zone.nextDaylightSavingTimeTransition(after: moment) else { break }
            moment = next
        }
        return lines + ["END:VTIMEZONE"]
    }
}

import Foundation
import Testing

@testable import VivierMail

@Suite("Interview invitations (RFC 5545)")
struct ICalendarTests {
    let organizer = ICalendarEvent.Person(name: "Camille Roux", email: "camille@atelier-boreal.example")
    let candidate = ICalendarEvent.Person(name: "Hélène \"H\" Lefèvre", email: "helene@example.com")

    func event(_ method: ICalendarEvent.Method = .request, sequence: Int = 0, zone: TimeZone? = nil) -> ICalendarEvent {
        ICalendarEvent(
            method: method, uid: "interview-7f3a@atelier-boreal.example", sequence: sequence,
            start: Date(timeIntervalSince1970: 1_795_000_000),
            end: Date(timeIntervalSince1970: 1_795_002_700), timeZone: zone,
            summary: "Entretien final ; Développeur·se backend, Swift",
            description: String(repeating: "Préparez vos questions. ", count: 10) + "\nÀ bientôt !",
            location: "Atelier Boréal, 12 rue de la Paix, Paris", url: "https://meet.example/abc-def",
            organizer: organizer, attendees: [candidate],
            stamp: Date(timeIntervalSince1970: 1_794_000_000))
    }

    func unfold(_ ics: String) -> [String] {
        ics.replacingOccurrences(of: "\r\n ", with: "").components(separatedBy: "\r\n").filter { !$0.isEmpty }
    }

    struct Parsed: Decodable {
        struct Event: Decodable {
            var uid: String
            var sequence: Int
            var start: String
            var end: String
            var summary: String
            var description: String
            var location: String
            var status: String
            var organizer: String
            var attendees: [String]
        }
        var method: String
        var timezones: [String]
        var events: [Event]
    }

    /// What Python's `icalendar` package reads from our output.
    func parsed(_ event: ICalendarEvent) throws -> Parsed {
        try JSONDecoder().decode(
            Parsed.self, from: Data(try Peers.run("check_ics.py", input: Array(try event.render().utf8)).utf8))
    }

    @Test(.enabled(if: Peers.available)) func icalendarPackage_readsRequestUpdateCancelAndPublish() throws {
        let request = try parsed(event(zone: TimeZone(identifier: "Europe/Paris")))
        #expect(request.method == "REQUEST" && request.timezones == ["Europe/Paris"])
        let first = try #require(request.events.first)
        #expect(first.uid == "interview-7f3a@atelier-boreal.example" && first.sequence == 0)
        #expect(first.summary == "Entretien final ; Développeur·se backend, Swift")
        #expect(first.description.hasSuffix("\nÀ bientôt !") && first.location.contains("12 rue de la Paix"))
        #expect(first.start.hasSuffix("+01:00") || first.start.hasSuffix("+02:00"), "local time with its zone")
        #expect(
            first.attendees == ["mailto:helene@example.com"]
                && first.organizer == "mailto:camille@atelier-boreal.example")
        let utc = try parsed(event(sequence: 1))
        #expect(utc.events.first?.start.hasSuffix("+00:00") == true && utc.events.first?.sequence == 1)
        let cancel = try parsed(event(.cancel, sequence: 2))
        #expect(cancel.method == "CANCEL" && cancel.events.first?.status == "CANCELLED")
        let publish = try parsed(event(.publish))
        #expect(publish.method == "PUBLISH" && publish.events.first?.attendees.isEmpty == true)
    }

    @Test func request_hasTheRequiredPropertiesInUTC() throws {
        let ics = try event().render()
        let lines = unfold(ics)
        #expect(lines.first == "BEGIN:VCALENDAR" && lines.last == "END:VCALENDAR")
        #expect(lines.contains("METHOD:REQUEST"))
        #expect(lines.contains("UID:interview-7f3a@atelier-boreal.example"))
        #expect(lines.contains("SEQUENCE:0"))
        #expect(lines.contains("DTSTART:20261118T110640Z"))
        #expect(lines.contains("DTEND:20261118T115140Z"))
        #expect(lines.contains("SUMMARY:Entretien final \\; Développeur·se backend\\, Swift"))
        #expect(lines.contains { $0.hasPrefix("DESCRIPTION:") && $0.hasSuffix("\\nÀ bientôt !") })
        #expect(lines.contains("ORGANIZER;CN=\"Camille Roux\":mailto:camille@atelier-boreal.example"))
        #expect(
            lines.contains(
                "ATTENDEE;CN=\"Hélène H Lefèvre\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:helene@example.com"
            ))
        #expect(lines.contains("STATUS:CONFIRMED"))
    }

    @Test func lines_areFoldedAt75OctetsWithoutSplittingCharacters() throws {
        let ics = try event().render()
        #expect(ics.hasSuffix("\r\n"))
        for line in ics.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 75, "\(line)")
            #expect(!line.contains("\n") && !line.contains("\r"))
        }
        // Each physical line is valid UTF-8 on its own (folding never cut a character).
        for line in ics.split(separator: "\r\n") { #expect(String(validating: Array(line.utf8), as: UTF8.self) != nil) }
    }

    @Test func updateAndCancel_keepTheUIDAndRaiseTheSequence() throws {
        let update = unfold(try event(sequence: 1).render())
        let cancel = unfold(try event(.cancel, sequence: 2).render())
        #expect(update.contains("UID:interview-7f3a@atelier-boreal.example") && update.contains("SEQUENCE:1"))
        #expect(cancel.contains("UID:interview-7f3a@atelier-boreal.example") && cancel.contains("SEQUENCE:2"))
        #expect(cancel.contains("METHOD:CANCEL") && cancel.contains("STATUS:CANCELLED"))
    }

    @Test func localTime_usesTZIDAndATimezoneBlock() throws {
        let lines = unfold(try event(zone: TimeZone(identifier: "Europe/Paris")).render())
        #expect(lines.contains("DTSTART;TZID=Europe/Paris:20261118T120640"))
        #expect(lines.contains("BEGIN:VTIMEZONE") && lines.contains("TZID:Europe/Paris"))
        #expect(lines.contains("TZOFFSETTO:+0100") && lines.contains("TZOFFSETTO:+0200"))
    }

    @Test func injectedLineBreaks_areRefusedOrEscaped() throws {
        var bad = event()
        bad.uid = "x\r\nATTENDEE:mailto:evil@example.com"
        #expect(throws: MailError.self) { try bad.render() }
        var sneaky = event()
        sneaky.summary = "Titre\r\nATTENDEE:mailto:evil@example.com"
        #expect(!unfold(try sneaky.render()).contains("ATTENDEE:mailto:evil@example.com"))
    }
}

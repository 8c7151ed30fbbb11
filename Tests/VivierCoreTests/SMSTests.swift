import Foundation
import Testing

@testable import VivierCore

@Suite("Text messages: numbers, parts, quiet hours, STOP")
struct SMSTests {
    @Test(arguments: [
        ("06 12 34 56 78", "+33612345678"), ("06.12.34.56.78", "+33612345678"), ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"), ("+33 (0)6 12 34 56 78", "+33612345678"), ("07-12-34-56-78", "+33712345678"),
        ("+44 7911 123456", "+447911123456"), ("+1 (415) 555-0100", "+14155550100"),
    ])
    func e164_readsTheWaysPeopleTypeNumbers(raw: String, expected: String) {
        #expect(SMS.e164(raw) == expected)
    }

    @Test(arguments: [
        "", "612345678", "06 12 34", "+33 6 12 34 56 78 99 99 99 99", "06 12 AB 56 78", "+", "0612345678\n1",
    ])
    func e164_refusesWhatCannotBeANumber(raw: String) {
        #expect(SMS.e164(raw) == nil)
    }

    @Test func segments_followGSM7AndUCS2Limits() {
        #expect(SMS.segments(String(repeating: "a", count: 160)) == .init(encoding: .gsm7, units: 160, count: 1))
        #expect(SMS.segments(String(repeating: "a", count: 161)) == .init(encoding: .gsm7, units: 161, count: 2))
        #expect(SMS.segments(String(repeating: "a", count: 306)).count == 2)
        #expect(SMS.segments(String(repeating: "a", count: 307)).count == 3)
        // French accents of the GSM alphabet stay 7-bit; the euro sign counts twice.
        #expect(SMS.segments("Rappel : entretien à 14h, près de l'Opéra").encoding == .gsm7)
        #expect(SMS.segments(String(repeating: "€", count: 80)) == .init(encoding: .gsm7, units: 160, count: 1))
        #expect(SMS.segments(String(repeating: "€", count: 81)).count == 2)
        // One character outside it (ê, an emoji) switches the whole text to UCS-2.
        #expect(SMS.segments("Fenêtre").encoding == .ucs2)
        #expect(SMS.segments(String(repeating: "ê", count: 70)) == .init(encoding: .ucs2, units: 70, count: 1))
        #expect(SMS.segments(String(repeating: "ê", count: 71)).count == 2)
        #expect(SMS.segments("👋" + String(repeating: "a", count: 66)).units == 68)
    }

    @Test func marketing_staysOutOfNightsAndSundays() {
        let paris = TimeZone(identifier: "Europe/Paris")!
        // 2026-09-21 is a Monday.
        func at(_ day: Int, _ hour: Int) -> Date {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = paris
            return calendar.date(from: DateComponents(year: 2026, month: 9, day: day, hour: hour))!
        }
        #expect(SMS.marketingAllowed(at: at(21, 8), timeZone: paris))
        #expect(SMS.marketingAllowed(at: at(21, 21), timeZone: paris))
        #expect(!SMS.marketingAllowed(at: at(21, 22), timeZone: paris))
        #expect(!SMS.marketingAllowed(at: at(21, 7), timeZone: paris))
        #expect(!SMS.marketingAllowed(at: at(27, 12), timeZone: paris), "Sunday")
    }

    @Test func stop_inFrenchAndEnglish() {
        for reply in ["STOP", "stop", " Arrêt ", "ARRET", "Stop."] { #expect(SMS.isStop(reply), "\(reply)") }
        for reply in ["Stop au retard, j'arrive", "OK merci", ""] { #expect(!SMS.isStop(reply), "\(reply)") }
    }
}

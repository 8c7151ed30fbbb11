import Foundation

/// Text messages: phone numbers in E.164, the segments a text costs, and when marketing texts may not be sent.
public enum SMS {
    /// A phone number as E.164 (`+33612345678`), from the ways people type it: spaces, dots, dashes and brackets
    /// ignored, `00` as an international prefix, and a national French number (`06 12 34 56 78`) read as French
    /// unless `defaultCountryCode` says otherwise. Nil when it cannot be a phone number.
    public static func e164(_ raw: String, defaultCountryCode: String = "33") -> String? {
        var text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.allSatisfy({ $0.isNumber || " .-()/+".contains($0) }) else { return nil }
        text.removeAll { " .-()/".contains($0) }
        guard text.dropFirst().allSatisfy(\.isASCII), text.dropFirst().allSatisfy(\.isNumber) else { return nil }
        var digits: String
        if text.hasPrefix("+") {
            digits = String(text.dropFirst())
        } else if text.hasPrefix("00") {
            digits = String(text.dropFirst(2))
        } else if text.hasPrefix("0") && text.count == 10 {
            digits = defaultCountryCode + text.dropFirst()
        } else {
            return nil
        }
        // "+33 0 6 …" is a common mix of both forms: the trunk 0 goes.
        if digits.hasPrefix(defaultCountryCode + "0") && digits.count == defaultCountryCode.count + 10 {
            digits = defaultCountryCode + digits.dropFirst(defaultCountryCode.count + 1)
        }
        guard (8...15).contains(digits.count), !digits.hasPrefix("0") else { return nil }
        return "+" + digits
    }

    /// How a text is encoded and what it costs: GSM 03.38 (7-bit; 160 characters, or 153 per part when split,
    /// the extension characters counting twice) when every character fits, else UCS-2 (70, or 67 per part).
    public struct Segments: Equatable, Sendable {
        public enum Encoding: String, Sendable { case gsm7 = "GSM-7", ucs2 = "UCS-2" }
        public var encoding: Encoding
        /// Septets for GSM-7, UTF-16 code units for UCS-2.
        public var units: Int
        public var count: Int
    }

    public static func segments(_ text: String) -> Segments {
        var septets = 0
        var gsm = true
        for character in text {
            if let single = character.unicodeScalars.first, character.unicodeScalars.count == 1,
                gsmBasic.contains(single)
            {
                septets += 1
            } else if let single = character.unicodeScalars.first, character.unicodeScalars.count == 1,
                gsmExtension.contains(single)
            {
                septets += 2
            } else {
                gsm = false
                break
            }
        }
        if gsm {
            return Segments(encoding: .gsm7, units: septets, count: septets <= 160 ? 1 : (septets + 152) / 153)
        }
        let units = text.utf16.count
        return Segments(encoding: .ucs2, units: units, count: units <= 70 ? 1 : (units + 66) / 67)
    }

    /// Marketing texts stay out of the night (22:00–8:00) and Sundays, in the recipient's time zone.
    public static func marketingAllowed(at date: Date, timeZone: TimeZone) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let hour = calendar.component(.hour, from: date)
        return calendar.component(.weekday, from: date) != 1 && hour >= 8 && hour < 22
    }

    /// Replies that stop all texts: STOP and its French form ARRET (with or without accent, any case).
    public static func isStop(_ reply: String) -> Bool {
        let word = Text.fold(reply).trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
        return ["stop", "arret", "stop sms", "unsubscribe", "desabonner"].contains(word)
    }

    /// The GSM 03.38 default alphabet.
    static let gsmBasic: Set<Unicode.Scalar> = Set(
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
            + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà").unicodeScalars)
    /// Characters of the extension table, sent with an escape (two septets).
    static let gsmExtension: Set<Unicode.Scalar> = Set("^{}\\[~]|€\u{0C}".unicodeScalars)
}

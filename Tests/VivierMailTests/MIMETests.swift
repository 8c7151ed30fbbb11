import Crypto
import Foundation
import Testing

@testable import VivierMail

@Suite("MIME messages as a real parser reads them")
struct MIMETests {
    let sender = try! MailAddress("recrutement@atelier-boreal.example", name: "Atelier Boréal — Recrutement")
    let candidate = try! MailAddress("helene.lefevre@example.com", name: "Hélène Lefèvre")

    func lines(_ bytes: [UInt8]) -> [Substring] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
    }

    /// Every line ends with CRLF (no bare CR or LF) and respects RFC 5322's hard limit.
    func checkWireRules(_ bytes: [UInt8]) {
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A { #expect(index > 0 && bytes[index - 1] == 0x0D, "bare LF at \(index)") }
            if byte == 0x0D { #expect(index + 1 < bytes.count && bytes[index + 1] == 0x0A, "bare CR at \(index)") }
        }
        for line in lines(bytes) { #expect(line.utf8.count <= 998) }
    }

    @Test(.enabled(if: Peers.available)) func frenchMessage_withHTMLAttachmentAndUnsubscribe_parsesWithoutDefects()
        throws
    {
        // Setup
        let subject = "Votre candidature à l’offre « Développeur·se backend Swift » – étape suivante 🎉"
        let text =
            "Bonjour Hélène,\n\nMerci pour votre candidature.\n.\n..point en début de ligne\n"
            + String(repeating: "é", count: 300) + "\nFin  \n"
        let html = "<p>Bonjour <strong>Hélène</strong>,</p>\n<p>" + String(repeating: "long ", count: 200) + "</p>"
        let pdf = Array("%PDF-1.4 fake but binary \u{0}\u{1}\u{2}\u{FF}".utf8) + (0..<5000).map { UInt8($0 % 256) }
        let message = MailMessage(
            from: sender, to: [candidate], subject: subject, text: text, html: html,
            replyTo: try MailAddress("reply+abc@atelier-boreal.example"),
            attachments: [Attachment(filename: "CV Hélène « finale ».pdf", mediaType: "application/pdf", bytes: pdf)],
            unsubscribe: (
                https: "https://jobs.atelier-boreal.example/u/v1.Zk9xTOKEN", mailto: "unsub+Zk9x@atelier-boreal.example"
            ))
        // Act
        let bytes = try message.render()
        let parsed = try Peers.parse(bytes)
        // Check
        #expect(parsed.defects.isEmpty, "\(parsed.defects)")
        #expect(parsed.headers["Subject"] == subject)
        #expect(parsed.from_addresses == [["Atelier Boréal — Recrutement", "recrutement@atelier-boreal.example"]])
        #expect(parsed.to_addresses == [["Hélène Lefèvre", "helene.lefevre@example.com"]])
        #expect(
            parsed.headers["List-Unsubscribe"]
                == "<https://jobs.atelier-boreal.example/u/v1.Zk9xTOKEN>, <mailto:unsub+Zk9x@atelier-boreal.example>")
        #expect(parsed.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        #expect(parsed.content_type == "multipart/mixed")
        let plain = try #require(parsed.parts.first { $0.type == "text/plain" })
        #expect(plain.content == text.replacingOccurrences(of: "\n", with: "\r\n"))
        let rich = try #require(parsed.parts.first { $0.type == "text/html" })
        #expect(rich.content == html.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(parsed.attachments.count == 1)
        #expect(parsed.attachments.first?.filename == "CV Hélène « finale ».pdf")
        #expect(parsed.attachments.first?.sha256 == SHA256.hash(data: pdf).map { String(format: "%02x", $0) }.joined())
        checkWireRules(bytes)
        // Bodies are wrapped at 76, headers stay under 78 except unbreakable ones.
        let headerEnd = try #require(lines(bytes).firstIndex(of: ""))
        for line in lines(bytes)[headerEnd...] { #expect(line.utf8.count <= 76, "body line: \(line)") }
        for line in lines(bytes)[..<headerEnd] where !line.hasPrefix("List-Unsubscribe:") {
            #expect(line.utf8.count <= 78, "header line: \(line)")
        }
    }

    @Test func encodedWords_holdWholeCharactersAndAreShort() throws {
        let subject = String(repeating: "Élodie 🎉 « œuvre » ", count: 12)
        let field = try HeaderEncoding.field("Subject", subject)
        let words = field.split(whereSeparator: \.isWhitespace).filter { $0.hasPrefix("=?") }
        #expect(words.count > 3)
        var decoded = ""
        for word in words {
            #expect(word.count <= 75)
            // Decode this word alone: it must be valid UTF-8 by itself.
            let payload = word.dropFirst("=?utf-8?q?".count).dropLast(2)
            var bytes: [UInt8] = []
            var index = payload.startIndex
            while index < payload.endIndex {
                let character = payload[index]
                if character == "=" {
                    let hex = payload[payload.index(after: index)...].prefix(2)
                    bytes.append(UInt8(hex, radix: 16)!)
                    index = payload.index(index, offsetBy: 3)
                } else {
                    bytes.append(character == "_" ? 0x20 : character.asciiValue!)
                    index = payload.index(after: index)
                }
            }
            let piece = try #require(String(validating: bytes, as: UTF8.self), "a word splits a character")
            decoded += piece
        }
        #expect(decoded == subject)
    }

    @Test func headerInjection_isRefusedEverywhere() throws {
        #expect(throws: MailError.forbiddenCharacter(field: "display name")) {
            try MailAddress("a@example.com", name: "Bob\r\nBcc: victim@example.com")
        }
        #expect(throws: MailError.forbiddenCharacter(field: "address")) {
            try MailAddress("a@example.com\r\nRCPT TO:<x@y.z>")
        }
        #expect(throws: MailError.invalidAddress("a b@example.com")) { try MailAddress("a b@example.com") }
        #expect(throws: MailError.invalidAddress("<a@example.com>")) { try MailAddress("<a@example.com>") }
        for subject in ["Hello\nBcc: x@y.z", "Hello\rX", "Nul\u{0}"] {
            let message = MailMessage(from: sender, to: [candidate], subject: subject, text: "x")
            #expect(throws: MailError.forbiddenCharacter(field: "Subject")) { try message.render() }
        }
        let badHeader = MailMessage(
            from: sender, to: [candidate], subject: "x", text: "x", extraHeaders: [("X-Test", "a\r\nBcc: b@c.d")])
        #expect(throws: MailError.forbiddenCharacter(field: "X-Test")) { try badHeader.render() }
        let badName = MailMessage(
            from: sender, to: [candidate], subject: "x", text: "x", extraHeaders: [("Bcc: x@y.z\r\nX", "v")])
        #expect(throws: MailError.forbiddenCharacter(field: "header name")) { try badName.render() }
        let badUnsubscribe = MailMessage(
            from: sender, to: [candidate], subject: "x", text: "x",
            unsubscribe: (https: "https://x.example/u>\r\nBcc: a@b.c", mailto: nil))
        #expect(throws: MailError.forbiddenCharacter(field: "List-Unsubscribe")) { try badUnsubscribe.render() }
        let badFile = MailMessage(
            from: sender, to: [candidate], subject: "x", text: "x",
            attachments: [Attachment(filename: "cv\r\nX-Evil: 1.pdf", mediaType: "application/pdf", bytes: [1])])
        #expect(throws: MailError.forbiddenCharacter(field: "attachment name")) { try badFile.render() }
    }

    @Test func bodyLineEndings_areAlwaysCRLF() throws {
        let message = MailMessage(
            from: sender, to: [candidate], subject: "Lignes", text: "un\ndeux\rtrois\r\nquatre\n\n.\n")
        let bytes = try message.render()
        checkWireRules(bytes)
        #expect(String(decoding: bytes, as: UTF8.self).contains("un\r\ndeux\r\ntrois\r\nquatre\r\n\r\n.\r\n"))
    }

    @Test func quotedPrintable_wrapsAt76AndEncodesTrailingSpace() {
        let encoded = BodyEncoding.quotedPrintable(
            String(repeating: "é", count: 100) + " \n" + String(repeating: "a", count: 200) + "\t")
        for line in encoded.split(separator: "\r\n") { #expect(line.utf8.count <= 76) }
        #expect(encoded.contains("=20\r\n"))
        #expect(encoded.hasSuffix("=09"))
        // A soft break never cuts an =XX sequence.
        for line in encoded.split(separator: "\r\n") where line.hasSuffix("=") {
            #expect(!line.dropLast().hasSuffix("="))
        }
    }

    @Test func base64_linesAre76AndRoundTrip() throws {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let encoded = BodyEncoding.base64(bytes)
        for line in encoded.split(separator: "\r\n").dropLast() { #expect(line.count == 76) }
        #expect(Data(base64Encoded: encoded.replacingOccurrences(of: "\r\n", with: "")) == Data(bytes))
        #expect(BodyEncoding.base64([]) == "")
        #expect(BodyEncoding.base64([0xFF]) == "/w==")
    }

    @Test(.enabled(if: Peers.available)) func plainTextOnly_andInternationalAddress() throws {
        let utf8 = try MailAddress("josé@exämple.fr", name: "José")
        let message = MailMessage(from: sender, to: [utf8], subject: "Simple", text: "Juste du texte.")
        #expect(message.needsSMTPUTF8)
        let parsed = try Peers.parse(try message.render())
        #expect(parsed.defects.isEmpty, "\(parsed.defects)")
        #expect(parsed.content_type == "text/plain")
        #expect(parsed.to_addresses == [["José", "josé@exämple.fr"]])
    }

    @Test(.enabled(if: Peers.available)) func calendarInvitation_isAnAlternativeAndAnAttachment() throws {
        let event = ICalendarEvent(
            method: .request, uid: "interview-42@atelier-boreal.example", sequence: 0,
            start: Date(timeIntervalSince1970: 1_795_000_000),
            end: Date(timeIntervalSince1970: 1_795_003_600), timeZone: TimeZone(identifier: "Europe/Paris"),
            summary: "Entretien — Développeur·se",
            description: "Préparez-vous : guide joint.\nÀ bientôt", location: "12 rue de la Paix, Paris",
            url: "https://meet.example/abc",
            organizer: .init(name: "Camille Roux", email: "camille@atelier-boreal.example"),
            attendees: [.init(name: "Hélène Lefèvre", email: "helene@example.com")])
        let ics = try event.render()
        let message = MailMessage(
            from: sender, to: [candidate], subject: "Invitation", text: "Voir l'invitation.",
            calendar: (method: "REQUEST", body: ics))
        let parsed = try Peers.parse(try message.render())
        #expect(parsed.defects.isEmpty, "\(parsed.defects)")
        let calendar = try #require(parsed.parts.first { $0.type == "text/calendar" })
        #expect(calendar.content.replacingOccurrences(of: "\n", with: "\r\n") == ics || calendar.content == ics)
        #expect(parsed.attachments.first?.filename == "invitation.ics")
    }
}

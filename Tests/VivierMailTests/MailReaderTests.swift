import Foundation
import Testing

@testable import VivierMail

@Suite("Reading messages back")
struct MailReaderTests {
    @Test func readsWhatTheBuilderWrites() throws {
        let message = MailMessage(
            from: try MailAddress("a@atelier-boreal.example", name: "Atelier Boréal"),
            to: [try MailAddress("b@example.com", name: "Zoé")],
            subject: "Entretien « final » — à bientôt", text: "Bonjour Zoé,\n=égal= et 100 % café",
            html: "<p>Bonjour</p>",
            attachments: [Attachment(filename: "guide.pdf", mediaType: "application/pdf", bytes: [1, 2, 3])])
        let reader = MailReader(try message.render())
        #expect(reader.header("Subject") == "Entretien « final » — à bientôt")
        #expect(reader.header("From") == "Atelier Boréal <a@atelier-boreal.example>")
        #expect(reader.part("text/plain")?.text == "Bonjour Zoé,\r\n=égal= et 100 % café")
        #expect(reader.part("text/html")?.text == "<p>Bonjour</p>")
        #expect(reader.part("application/pdf") != nil)
    }

    @Test func decodesForeignEncodedWords() {
        #expect(MailReader.decodeWords("=?UTF-8?B?w6l0w6k=?= =?iso-8859-1?q?caf=E9?= fin") == "étécafé fin")
        #expect(MailReader.decodeWords("plain =?broken") == "plain =?broken")
    }
}

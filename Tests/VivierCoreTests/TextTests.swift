import Foundation
import Testing
import VivierCore

@Suite("Text, addresses, languages")
struct TextTests {
    @Test(arguments: [
        ("Hélène", "helene"), ("ÉLODIE Cœur", "elodie coeur"), ("Müller", "muller"), ("Ångström", "angstrom"),
        ("ﬁnance", "ﬁnance".lowercased()),
    ])
    func fold_removesAccentsAndCase(input: String, folded: String) {
        #expect(Text.fold(input) == Text.fold(folded))
        #expect(Text.fold(input) == folded || input == "ﬁnance")
    }

    @Test func slug_isReadableAndURLSafe() {
        #expect(Text.slug("Développeur·se iOS (H/F)") == "developpeur-se-ios-h-f")
        #expect(Text.slug("  Chargé·e de recrutement — CDD 12 mois ") == "charge-e-de-recrutement-cdd-12-mois")
        #expect(Text.slug("!!!") == "job")
        #expect(Text.slug(String(repeating: "a", count: 200)).count == 80)
    }

    @Test func searchTerms_keepWordsOnly() {
        #expect(Text.searchTerms("  Hélène  \"NEAR(dev*  ") == ["helene", "near", "dev"])
        #expect(Text.searchTerms("a b c d e f g h i j").count == 8)
    }

    @Test(arguments: ["helene@example.com", "a.b+tag@sub.example.fr", "x@example-domain.co.uk", "jose@exämple.com"])
    func email_valid(address: String) { #expect(EmailAddress.isValid(address)) }

    @Test(arguments: [
        "", "plain", "a@b", "a@@b.com", "a b@c.com", ".a@b.com", "a..b@c.com", "a@-b.com", "a@b.com\r\nBcc: x@y.z",
        String(repeating: "a", count: 65) + "@b.com",
    ])
    func email_invalid(address: String) { #expect(!EmailAddress.isValid(address)) }

    @Test func email_normalizedByCaseAndSpaces() {
        #expect(EmailAddress.normalize("  Hélène.Dupont@Example.COM ") == "hélène.dupont@example.com")
    }

    @Test func language_negotiatedFromAcceptLanguage() {
        #expect(Language.negotiate(acceptLanguage: "en-GB,en;q=0.9,fr;q=0.8") == .en)
        #expect(Language.negotiate(acceptLanguage: "de-DE,fr;q=0.5,en;q=0.3") == .fr)
        #expect(Language.negotiate(acceptLanguage: "de-DE") == nil)
        #expect(Language.negotiate(acceptLanguage: "fr;q=0, en") == .en)
        #expect(Language.negotiate(acceptLanguage: nil) == nil)
    }
}

@Suite("Markdown")
struct MarkdownTests {
    @Test func html_rendersMarkdownButNeverRawHTML() {
        let html = Markdown.html(
            "## Missions\n- Écrire du **Swift**\n\n<script>alert(1)</script> <img src=x onerror=alert(1)>")
        #expect(html.contains("<h2>Missions</h2>") && html.contains("<strong>Swift</strong>") && html.contains("<li>"))
        #expect(!html.contains("<script") && !html.contains("<img"))
        #expect(html.contains("&lt;script&gt;") || html.contains("&lt;script>"))
    }

    @Test func html_keepsOnlySafeLinks() {
        #expect(Markdown.html("[ok](https://example.com)").contains("href=\"https://example.com\""))
        #expect(Markdown.html("[mail](mailto:jobs@example.com)").contains("href=\"mailto:jobs@example.com\""))
        #expect(Markdown.html("[rel](/careers)").contains("href=\"/careers\""))
        for bad in ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x"] {
            #expect(!Markdown.html("[x](\(bad))").contains("href"), "\(bad)")
        }
        #expect(!Markdown.html("![x](https://tracker.example/p.gif)").contains("<img"))
    }

    /// Found by `scripts/fuzz`: nested brackets made the Markdown parser try every reading, twice the time per
    /// bracket — 40 of them would never end. Inner ones are read as text; links around them still work.
    @Test func nestedBrackets_areText_andLinksStillWork() {
        for opener in ["[", "![", "[a ", "[\r\n"] {
            let source = String(repeating: opener, count: 40) + "x" + String(repeating: "]", count: 3)
            #expect(Markdown.plainText(source).contains("x]]]"), "\(opener.debugDescription)")
        }
        #expect(Markdown.html("[Postuler [en ligne]](https://example.com)").contains("href=\"https://example.com\""))
        #expect(Markdown.html("[a] [b] [c](/x)\n\n[d](/y)").contains("href=\"/y\""))
        #expect(Markdown.plainText("un \\[crochet\\] échappé") == "un [crochet] échappé")
    }

    @Test func plainText_isReadable() {
        #expect(
            Markdown.plainText("## Titre\n\nUn **texte** & <b>brut</b>\n\n- a\n- b")
                == "Titre\n\nUn texte & <b>brut</b>\n\n- a\n- b")
    }
}

@Suite("Pipelines and the apply form")
struct DomainTests {
    @Test func defaultPipeline_isValidAndEndsHired() {
        #expect(StageTemplate.validate(StageTemplate.defaultPipeline) == nil)
        #expect(
            StageTemplate.defaultPipeline.map(\.nameFR) == [
                "Nouvelle candidature", "Présélection", "Entretien", "Entretien final", "Offre", "Embauché",
            ])
    }

    @Test func pipeline_rulesAreChecked() {
        let new = StageTemplate(nameFR: "Nouveau", nameEN: "New", kind: .new)
        let hired = StageTemplate(nameFR: "Embauché", nameEN: "Hired", kind: .hired)
        let talk = StageTemplate(nameFR: "Échange", nameEN: "Call", kind: .screening)
        #expect(StageTemplate.validate([new]) == "pipeline.too_short")
        #expect(StageTemplate.validate([talk, hired]) == "pipeline.first_must_be_new")
        #expect(StageTemplate.validate([new, talk]) == "pipeline.last_must_be_hired")
        #expect(StageTemplate.validate([new, new, hired]) == "pipeline.one_new_one_hired")
        #expect(
            StageTemplate.validate([new, StageTemplate(nameFR: "", nameEN: "x", kind: .offer), hired])
                == "pipeline.names_required")
        #expect(StageTemplate.validate([new, talk, hired]) == nil)
    }

    @Test func applicantInput_reportsEachFieldByKey() {
        let ok = ApplicantInput(
            firstName: " Zoé ", lastName: "Côté", email: "zoe@example.com", phone: "+33 (0)6 12-34-56-78",
            coverLetter: "")
        #expect(ok.errors().isEmpty && ok.firstName == "Zoé")
        let bad = ApplicantInput(
            firstName: "", lastName: "Line\nBreak", email: "zoe@", phone: "call me",
            coverLetter: String(repeating: "x", count: 10_001))
        #expect(
            bad.errors() == [
                "first_name": "error.required", "last_name": "error.invalid_characters", "email": "error.email_invalid",
                "phone": "error.phone_invalid", "cover_letter": "error.too_long",
            ])
        #expect(
            ApplicantInput(firstName: "A", lastName: "B", email: "", phone: "", coverLetter: "").errors() == [
                "email": "error.required"
            ])
        // Found by schemathesis through the API: PostgreSQL refused the NUL with a server error.
        #expect(
            ApplicantInput(firstName: "A", lastName: "B", email: "a@example.com", phone: "", coverLetter: "f\u{0}x")
                .errors() == ["cover_letter": "error.nul_character"])
    }
}

@Suite("Identifiers and bytes") struct IdentifierTextTests {
    @Test func timeOrderedUUID_isVersion7_andOnlyGrows_evenWithAClockHeldStill() {
        let start = Date(timeIntervalSince1970: 4_102_444_800.123)  // 2100: later than any id made before
        let ids =
            (0..<1000).map { UUID.timeOrdered(at: start + Double($0) * 0.002) }
            + (0..<10_000).map { _ in UUID.timeOrdered(at: start + 3) }
        for id in ids {
            let text = id.uuidString
            #expect(Array(text)[14] == "7", "version 7: \(text)")
            #expect("89AB".contains(Array(text)[19]), "variant 10: \(text)")
        }
        // The text (as SQLite keeps it) and the bytes (as PostgreSQL compares them) sort like the order of making.
        #expect(ids.map(\.uuidString) == ids.map(\.uuidString).sorted())
        #expect(Set(ids).count == ids.count)
        let milliseconds: UInt64 = 4_102_444_800_123
        #expect(ids[0].uuidString.prefix(13) == String(format: "%08X-%04X", milliseconds >> 16, milliseconds & 0xFFFF))
    }

    @Test func hexForms_areTheCanonicalFormsOfUUIDString() {
        let zero = UUID(uuidString: "00000000-0000-0000-0000-000000000000")!
        let ids: [UUID] = (0..<200).map { _ in UUID() } + [zero]
        for id in ids {
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(id.uppercasedString == id.uuidString)
            #expect(id.compactHex == id.uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
        }
    }

    @Test func replacingBytes_replacesEveryOccurrenceExactly() {
        #expect("<a href=x><a href=y>".replacingBytes(of: "<a href=", with: "<a s href=") == "<a s href=x><a s href=y>")
        #expect("é<a href=".replacingBytes(of: "<a href=", with: "!") == "é!")
        #expect("aaa".replacingBytes(of: "aa", with: "b") == "ba")
        #expect("nothing here".replacingBytes(of: "<a", with: "x") == "nothing here")
        #expect("".replacingBytes(of: "a", with: "b") == "")
        #expect("ab".replacingBytes(of: "", with: "x") == "ab")
    }
}

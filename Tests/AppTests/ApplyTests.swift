import Fluent
import Foundation
import Testing
import Vapor
import VivierCore

@testable import App

@Suite("Applying on the career site")
struct ApplyTests {
    @Test func apply_validApplicationCreatesPersonApplicationCVAndConsents() async throws {
        try await withApp { app, _ in
            // Setup
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            // Act
            let page = try await Fixtures.apply(
                browser, slug: job.slug, extra: [("consent_talent_pool", "on"), ("consent_newsletter", "on")])
            // Check
            #expect(page.status == .seeOther)
            #expect(page.location?.hasPrefix("/careers/thanks") == true)
            let candidate = try #require(try await Candidate.query(on: app.db).first())
            #expect(
                candidate.firstName == "Hélène" && candidate.lastName == "Lefèvre"
                    && candidate.email == "helene@example.com")
            let application = try #require(try await JobApplication.query(on: app.db).with(\.$stage).first())
            #expect(
                application.stage?.kind == .new && application.source == .careerSite
                    && application.coverLetter == "Bonjour !")
            let document = try #require(try await Document.query(on: app.db).first())
            #expect(document.kind == .pdf && document.size == Fixtures.pdf.count && document.originalName == "cv.pdf")
            #expect(try app.blobs.get(document.storageKey) == Fixtures.pdf)
            let events = try await ConsentEvent.query(on: app.db).all()
            #expect(Set(events.map(\.purpose)) == [.talentPool, .newsletter])
            #expect(
                events.allSatisfy {
                    $0.action == .granted && $0.channel == .careerForm && $0.wordingVersion == 1 && $0.locale == "fr"
                })
            let kinds = try await Interaction.query(on: app.db).all().map(\.kind)
            #expect(kinds.filter { $0 == .applied }.count == 1 && kinds.filter { $0 == .consent }.count == 2)
        }
    }

    @Test func apply_consentBoxesAreUntickedAndSeparate() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let page = try await Browser(app).get("/careers/\(job.slug)/apply")
            #expect(page.status == .ok)
            for name in ["consent_talent_pool", "consent_newsletter", "consent_partner_sharing"] {
                let tag = try #require(page.body.range(of: "name=\"\(name)\"")).lowerBound
                let line = page.body[tag...].prefix { $0 != ">" }
                #expect(!line.contains("checked"), "\(name) must start unticked")
            }
            #expect(page.body.contains("vivier de talents"))
            #expect(!page.body.contains("name=\"consent_application\""))
        }
    }

    @Test(arguments: [
        ("first_name", "", "Ce champ est obligatoire."),
        ("last_name", "", "Ce champ est obligatoire."),
        ("email", "pas-une-adresse", "Cette adresse email n'est pas valide"),
        ("phone", "12", "Ce numéro de téléphone n'est pas valide"),
        ("cover_letter", "10001 characters", "Ce texte est trop long."),
    ])
    func apply_invalidFieldIsShownNextToItWithInputKept(field: String, value: String, message: String) async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            var values = [
                "first_name": "Zoë", "last_name": "Côté", "email": "zoe@example.com", "phone": "0612345678",
                "cover_letter": "Bonjour",
            ]
            values[field] = field == "cover_letter" ? String(repeating: "x", count: 10_001) : value
            let page = try await Fixtures.apply(
                browser, slug: job.slug, first: values["first_name"]!, last: values["last_name"]!,
                email: values["email"]!, phone: values["phone"]!, coverLetter: values["cover_letter"]!)
            #expect(page.status == .unprocessableEntity)
            #expect(page.body.contains("id=\"\(field)-error\""))
            #expect(page.body.contains(message.htmlEscaped))
            if field != "first_name" { #expect(page.body.contains("value=\"Zoë\"")) }
            #expect(try await Candidate.query(on: app.db).count() == 0)
            #expect(try await JobApplication.query(on: app.db).count() == 0)
        }
    }

    @Test func apply_errorsAreInThePageLanguage() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            _ = try await browser.get("/careers?lang=en")
            let page = try await Fixtures.apply(browser, slug: job.slug, email: "nope")
            #expect(page.status == .unprocessableEntity)
            #expect(page.body.contains("This email address is not valid"))
            #expect(page.body.contains("<html lang=\"en\">"))
        }
    }

    @Test func apply_sameFormSubmittedTwiceCreatesOneApplication() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            let token = Tokens.random()
            let first = try await Fixtures.apply(browser, slug: job.slug, submission: token)
            let second = try await Fixtures.apply(browser, slug: job.slug, submission: token)
            #expect(first.status == .seeOther && second.status == .seeOther && first.location == second.location)
            #expect(try await JobApplication.query(on: app.db).count() == 1)
            #expect(try await Document.query(on: app.db).count() == 1)
            let files = try FileManager.default.contentsOfDirectory(atPath: app.config.blobDirectory.path)
            #expect(files.count == 1, "the duplicate's file must not be left behind: \(files)")
        }
    }

    @Test func apply_concurrentDoubleSubmitCreatesOneApplication() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let token = Tokens.random()
            async let first = Fixtures.apply(Browser(app), slug: job.slug, submission: token)
            async let second = Fixtures.apply(Browser(app), slug: job.slug, submission: token)
            let pages = try await [first, second]
            #expect(pages.allSatisfy { $0.status == .seeOther })
            #expect(try await JobApplication.query(on: app.db).count() == 1)
            #expect(try await Candidate.query(on: app.db).count() == 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: app.config.blobDirectory.path).count == 1)
        }
    }

    @Test func apply_wrongTypeIsRefusedAndNothingIsKept() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            // An executable named .pdf, and a ZIP that is not a document.
            for bytes in [
                Array("MZ\u{90}\u{00}this is not a pdf".utf8),
                [0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 40),
            ] {
                let page = try await Fixtures.apply(browser, slug: job.slug, cv: bytes, cvName: "cv.pdf")
                #expect(page.status == .unprocessableEntity)
                #expect(page.body.contains("n&#39;est pas un PDF, DOCX ou ODT valide"))
            }
            let missing = try await Fixtures.apply(browser, slug: job.slug, cv: nil)
            #expect(missing.body.contains("Joignez votre CV"))
            #expect(try await Candidate.query(on: app.db).count() == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: app.config.blobDirectory.path).isEmpty)
        }
    }

    @Test func apply_oversizedCVGetsAClearMessageAndNoFile() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            // Just over the 10 MB limit but under the body cap: re-rendered form with the field's message.
            let large = Fixtures.pdf + Array(repeating: UInt8(ascii: " "), count: CareersController.maxCVBytes)
            let page = try await Fixtures.apply(browser, slug: job.slug, cv: large)
            #expect(page.status == .unprocessableEntity)
            #expect(page.body.contains("dépasse 10 Mo"))
            // Over the body cap: refused before it is read, with the same advice.
            let huge = Fixtures.pdf + Array(repeating: UInt8(ascii: " "), count: Application.maxUploadBody)
            let refused = try await Fixtures.apply(browser, slug: job.slug, cv: huge)
            #expect(refused.status == .payloadTooLarge)
            #expect(refused.body.contains("10 Mo maximum"))
            #expect(try await Candidate.query(on: app.db).count() == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: app.config.blobDirectory.path).isEmpty)
        }
    }

    @Test func apply_onePersonWithThreeApplicationsIsOneCandidate() async throws {
        try await withApp { app, _ in
            let jobs = [
                try await Fixtures.job(app, title: "Data Analyst"),
                try await Fixtures.job(app, title: "Product Designer"),
            ]
            let browser = Browser(app)
            _ = try await Fixtures.apply(browser, slug: jobs[0].slug, email: "Jean-Francois.Muller@Example.com")
            _ = try await Fixtures.apply(
                browser, slug: jobs[1].slug, first: "Jean-François", last: "Müller",
                email: " jean-francois.muller@example.com ")
            _ = try await Fixtures.apply(
                browser, slug: nil, first: "Jean-François", last: "Müller", email: "jean-francois.muller@example.com")
            let candidates = try await Candidate.query(on: app.db).all()
            #expect(candidates.count == 1)
            #expect(candidates.first?.fullName == "Jean-François Müller")
            let applications = try await JobApplication.query(on: app.db).all()
            #expect(applications.count == 3)
            #expect(applications.filter { $0.$job.id == nil }.count == 1)
            // Applying again to the same job refreshes that application rather than doubling it.
            _ = try await Fixtures.apply(browser, slug: jobs[0].slug, email: "jean-francois.muller@example.com")
            #expect(try await JobApplication.query(on: app.db).count() == 3)
        }
    }

    @Test(
        .enabled(
            if: TextExtractor.executable("pdftotext") != nil,
            "needs pdftotext (poppler-utils), installed by scripts/test"))
    func apply_pdfTextIsExtractedAndSearchable() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            _ = try await Fixtures.apply(
                Browser(app), slug: job.slug, cv: Fixtures.textPDF("Ingenieure Kubernetes Lyon"))
            let document = try #require(try await Document.query(on: app.db).first())
            #expect(document.text.contains("Kubernetes"))
            #expect(try await SearchIndex.search("kubernetes", on: app.db) == [document.$candidate.id])
        }
    }

    @Test func apply_sourceParameterIsRecorded() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            _ = try await Fixtures.apply(browser, slug: job.slug, extra: [("source", "Indeed<script>")])
            let application = try #require(try await JobApplication.query(on: app.db).first())
            #expect(application.source == .jobBoard && application.sourceDetail == "indeedscript")
        }
    }

    @Test func apply_toClosedOrDraftJobIsNotFound() async throws {
        try await withApp { app, _ in
            let closed = try await Fixtures.job(app, title: "Ancienne offre", status: .closed)
            let draft = try await Fixtures.job(app, title: "Brouillon", status: .draft)
            let browser = Browser(app)
            for slug in [closed.slug, draft.slug] {
                #expect(try await browser.get("/careers/\(slug)").status == .notFound)
                #expect(try await browser.get("/careers/\(slug)/apply").status == .notFound)
            }
            let list = try await browser.get("/careers")
            #expect(!list.body.contains("Ancienne offre") && !list.body.contains("Brouillon"))
        }
    }

    @Test func apply_honeypotIsThankedAndDiscarded() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let page = try await Fixtures.apply(
                Browser(app), slug: job.slug, extra: [("website", "http://spam.example")])
            #expect(page.status == .seeOther)
            #expect(try await Candidate.query(on: app.db).count() == 0)
        }
    }

    @Test func apply_moreThanTenPerMinuteFromOneAddressIsRefused() async throws {
        try await withApp { app, clock in
            let job = try await Fixtures.job(app)
            let browser = Browser(app)
            for number in 0..<10 {
                #expect(
                    try await Fixtures.apply(browser, slug: job.slug, email: "p\(number)@example.com").status
                        == .seeOther)
            }
            #expect(
                try await Fixtures.apply(browser, slug: job.slug, email: "p10@example.com").status == .tooManyRequests)
            clock.advance(by: 61)
            #expect(try await Fixtures.apply(browser, slug: job.slug, email: "p11@example.com").status == .seeOther)
        }
    }

    @Test func jobPage_hasValidJobPostingJSONLD() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app, title: "Ingénieur·e </script><b>x</b>")
            let page = try await Browser(app).get("/careers/\(job.slug)")
            #expect(page.status == .ok)
            let start = try #require(page.body.range(of: "<script type=\"application/ld+json\">")).upperBound
            let json = String(page.body[start...].prefix { $0 != "<" })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(object["@type"] as? String == "JobPosting")
            #expect(object["title"] as? String == "Ingénieur·e </script><b>x</b>")
            #expect(object["employmentType"] as? String == "FULL_TIME")
            #expect((object["hiringOrganization"] as? [String: Any])?["name"] != nil)
            #expect(
                ((object["jobLocation"] as? [String: Any])?["address"] as? [String: Any])?["addressLocality"] as? String
                    == "Paris")
            #expect(object["datePosted"] is String && object["description"] is String && object["url"] is String)
            #expect(!page.body.contains("<b>x</b>"), "job text must be escaped in the page")
        }
    }
}

import Fluent
import Foundation
import Testing
import Vapor
import VivierCore

@testable import App

/// Importing an existing pool from the files people really have: a dirty export gives an exact report, the import
/// writes whole people only, resumes after an interruption and stops when cancelled.
@Suite("CSV import")
struct ImportTests {
    /// An Excel export from a French Windows: Windows-1252, semicolons, a cell with a line break, a duplicate
    /// address in another case, a bad address, a formula, a bare "oui" for consent, a bad phone, an unknown job, a
    /// date in the future.
    static let dirty = """
        Courriel;Prénom;Nom;Téléphone;Ville;Compétences;Consentement;Offre;Date;Statut;Commentaire\r
        helene@example.com;Hélène;Dupré;+33 6 12 34 56 78;Lyon;"swift, ios";Salon VivaTech 2026, formulaire signé;Développeur·se Swift;15/03/2024;refusé;"Très bon profil\r
        à recontacter"\r
        HELENE@example.com;;;;;kotlin;;;;;\r
        not-an-email;Jean;Martin;;;;;;;;\r
        marc@example.com;=HYPERLINK("http://x");Petit;;;;oui;;;;\r
        zoe@example.com;Zoé;Roux;12;Paris;;;Inconnu;;;\r
        anne@example.com;Anne;Lefèvre;;;;;Développeur·se Swift;2099-01-01;;\r
        paul@example.com;Paul;Durand;;Nantes;;non;;;;\r

        """

    @Test func dirtyFile_givesTheExactReport() async throws {
        try await withApp { app, _ in
            let job = try await Fixtures.job(app)
            let bytes = Array(try #require(Self.dirty.data(using: .windowsCP1252)))
            #expect(String(data: Data(bytes), encoding: .utf8) == nil, "the fixture must not be valid UTF-8")

            let table = try CSVTable.parse(bytes)
            let mapping = ImportMapping.guess(table.header)
            let plan = Importer.plan(table, mapping: mapping, jobs: [job], now: app.clock.now())

            #expect(mapping[.email] == "Courriel" && mapping[.firstName] == "Prénom" && mapping[.lastName] == "Nom")
            #expect(mapping[.consent] == "Consentement" && mapping[.job] == "Offre" && mapping[.note] == "Commentaire")
            let report = plan.report
            #expect(report.encoding == "Windows-1252" && report.separator == ";")
            #expect(report.records == 7)
            let english = { (issue: ImportReport.Issue) in
                "\(issue.line) \(issue.column): \(issue.reason { app.translations.text($0, .en) })"
            }
            #expect(
                report.errors.map(english) == [
                    "5 Courriel: “not-an-email” is not a valid email address.",
                    "6 Prénom: Starts with “=”: a spreadsheet formula, not a value.",
                    "6 Consentement: Say how the consent was obtained (“salon VivaTech 2026, formulaire signé”), not just “oui”.",
                    "7 Téléphone: “12” is not a phone number.",
                    "7 Offre: No job is called “Inconnu”.",
                    "8 Date: In the future.",
                ])
            #expect(
                report.errors.first?.reason { app.translations.text($0, .fr) }
                    == "« not-an-email » n'est pas une adresse e-mail valide.")
            #expect(report.errorCount == 6 && report.rowsRefused == 4)
            #expect(report.merged.map(english) == ["4 Courriel: Same address as line 2: merged into it."])
            #expect(report.people == 2 && report.withConsent == 1 && report.applications == 1)

            // Writing what the dry run accepted.
            let written = try await app.db.writeTransaction { db in
                try await Importer.write(
                    plan.people[...], source: "vivier.csv", by: nil, sendNotice: true, on: db,
                    composer: Composer(db: db, app: app, now: app.clock.now()), now: app.clock.now())
            }
            #expect(written.created == 2 && written.merged == 0 && written.applications == 1)
            let helene = try #require(
                try await Candidate.query(on: app.db).filter(\.$email == "helene@example.com").first())
            #expect(helene.firstName == "Hélène" && helene.lastName == "Dupré" && helene.location == "Lyon")
            let tags = try await CandidateTag.query(on: app.db).filter(\.$candidate.$id == helene.requireID())
                .with(\.$tag).all().map(\.tag.name).sorted()
            #expect(tags == ["ios", "kotlin", "swift"])
            let consent = try #require(
                try await ConsentEvent.query(on: app.db).filter(\.$candidate.$id == helene.requireID()).first())
            #expect(consent.channel == .import && consent.proof == "Salon VivaTech 2026, formulaire signé")
            #expect(try await ConsentLedger.state(of: helene.requireID(), on: app.db)[.talentPool] == true)
            let application = try #require(
                try await JobApplication.query(on: app.db).filter(\.$candidate.$id == helene.requireID()).first())
            #expect(application.outcome == .rejected && application.source == .import)
            #expect(Calendar(identifier: .gregorian).component(.year, from: application.createdAt!) == 2024)
            #expect(try await Note.query(on: app.db).first()?.body == "Très bon profil\nà recontacter")
            // The timeline tells the story: the consent, the past application and the note.
            let timeline = try await Interaction.query(on: app.db).filter(\.$candidate.$id == helene.requireID()).all()
            #expect(Set(timeline.map(\.kind)) == [.consent, .applied, .note])
            #expect(timeline.first { $0.kind == .applied }?.$application.id == application.id)
            // Search finds the imported person by a tag.
            #expect(try await SearchIndex.search("kotlin", on: app.db) == [helene.id!])
            // Segments see everything the import wrote about her: tag, outcome, consent and place.
            let segment = SegmentDefinition(rules: [
                SegmentRule(field: .tag, negate: false, value: "kotlin", option: ""),
                SegmentRule(field: .outcome, negate: false, value: "rejected", option: ""),
                SegmentRule(field: .consent, negate: false, value: "talent_pool", option: "active"),
                SegmentRule(field: .location, negate: false, value: "lyon", option: ""),
            ])
            #expect(try await SegmentQuery(db: app.db, now: app.clock.now()).page(segment, limit: 10) == [helene.id!])
            // The art. 14 notice goes to the person imported without consent only.
            let notices = try await OutboxMessage.query(on: app.db).filter(\.$kind == "import_notice").all()
            #expect(notices.map(\.recipient) == ["paul@example.com"])
        }
    }

    @Test func utf8WithBOMCommasAndTabs_areReadAlike() throws {
        let comma = Array(
            [0xEF, 0xBB, 0xBF]
                + Array("Email,First name,Last name,Tags\nlea@example.com,Léa,Martin,\"swift, vapor\"\n".utf8))
        let tab = Array("E-mail\tPrénom\tNom\tTags\nlea@example.com\tLéa\tMartin\tswift|vapor\n".utf8)
        for bytes in [comma, tab] {
            let table = try CSVTable.parse(bytes)
            let plan = Importer.plan(table, mapping: .guess(table.header), jobs: [], now: Date())
            #expect(plan.report.errors.isEmpty)
            let person = try #require(plan.people.first)
            #expect(
                person.email == "lea@example.com" && person.firstName == "Léa" && person.tags == ["swift", "vapor"])
        }
        #expect(try CSVTable.parse(comma).encoding == "UTF-8 (BOM)")
        #expect(try CSVTable.parse(tab).separator == "\t")
        #expect(throws: CSVTable.Failure.unterminatedQuote(line: 2)) {
            try CSVTable.parse(Array("a,b\n\"open,2\n3,4\n".utf8))
        }
    }

    /// A queued import of `count` new people (`prefix0@example.com`…) with a consent each.
    static func queue(_ app: Application, _ prefix: String, count: Int) async throws -> PoolImport {
        var csv = "email,first_name,last_name,consent\n"
        for i in 0..<count { csv += "\(prefix)\(i)@example.com,P\(i),Import,formulaire salon 2025\n" }
        let job = PoolImport(
            filename: "pool.csv", storageKey: try app.blobs.put(Array(csv.utf8)), createdBy: nil, now: app.clock.now())
        job.mappingJSON = String(
            decoding: try JSONEncoder().encode(ImportMapping.guess(["email", "first_name", "last_name", "consent"])),
            as: UTF8.self)
        job.status = .queued
        try await job.create(on: app.db)
        return job
    }

    @Test func cancelStopsBetweenBatches_andAnInterruptedImportResumesWithoutDuplicates() async throws {
        try await withApp { app, _ in
            let runner = ImportRunner(app: app)
            // Sizes in batches: a little more than two, so that there is a next batch to stop before.
            let batch = ImportRunner.batchSize
            let whole = try await Self.queue(app, "p", count: 2 * batch + 200)
            #expect(try await runner.runNext())
            #expect(try await PoolImport.find(whole.requireID(), on: app.db)?.status == .done)
            #expect(try await Candidate.query(on: app.db).count() == 2 * batch + 200)

            // Cancelled from the UI while its first batch was being written: it stops before the next one.
            let job = try await Self.queue(app, "q", count: 2 * batch + 100)
            let id = try job.requireID()
            job.status = .running
            try await job.save(on: app.db)
            try await runner.run(job) { progress in
                if progress.processed == batch {
                    try? await PoolImport.query(on: app.db).filter(\.$id == id).set(\.$status, to: .cancelled).update()
                }
            }
            func imported() async throws -> Int {
                try await Candidate.query(on: app.db).filter(\.$email >= "q").filter(\.$email < "r").count()
            }
            #expect(try await imported() == batch)
            #expect(try await PoolImport.find(id, on: app.db)?.status == .cancelled)

            #expect((try? app.blobs.get(job.storageKey)) == nil, "a stopped import's file is removed")

            // What a crash leaves: one batch committed with its counter, the import still "running", its lease
            // expired. The next runner goes on from there.
            let crashed = try await Self.queue(app, "r", count: 2 * batch + 100)
            let crashedID = try crashed.requireID()
            let plan = try await ImportRunner.plan(crashed, app: app)
            try await app.db.writeTransaction { db in
                _ = try await Importer.write(
                    plan.people[0..<batch], source: "pool.csv", by: nil, sendNotice: false, on: db,
                    composer: nil, now: app.clock.now())
                crashed.status = .running
                crashed.processed = batch
                crashed.createdPeople = batch
                crashed.leaseUntil = app.clock.now() - 1
                try await crashed.save(on: db)
            }
            #expect(try await runner.runNext())
            let resumed = try await Candidate.query(on: app.db).filter(\.$email >= "r").filter(\.$email < "s").count()
            #expect(resumed == 2 * batch + 100)
            let done = try #require(try await PoolImport.find(crashedID, on: app.db))
            #expect(done.status == .done && done.processed == 2 * batch + 100 && done.createdPeople == 2 * batch + 100)
            #expect(try await ConsentEvent.query(on: app.db).count() == (2 * batch + 200) + batch + (2 * batch + 100))
        }
    }

    @Test func admin_uploadsMapsChecksAndImports() async throws {
        try await withApp { app, _ in
            try await Fixtures.user(app, "admin@example.com", role: .admin)
            let browser = Browser(app)
            try await browser.login("admin@example.com")
            let uploaded = try await Fixtures.uploadImport(
                browser, filename: "../../export.csv",
                bytes: Array("Mail;Given;Family\nines@example.com;Inès;Moreau\nbad;X;Y\n".utf8))
            let location = try #require(uploaded.location)
            #expect(location.hasPrefix("/app/imports/"))

            let page = try await browser.get(location)
            #expect(page.status == .ok && page.body.contains("export.csv") && !page.body.contains("../"))
            // "Mail" is recognised; the names are not: mapped by hand.
            _ = try await browser.post(
                location + "/mapping", [("email", "Mail"), ("first_name", "Given"), ("last_name", "Family")])
            let checked = try await browser.get(location)
            #expect(checked.body.contains("« bad » n&#39;est pas une adresse e-mail valide."))
            #expect(try await Candidate.query(on: app.db).count() == 0, "a dry run writes nothing")

            _ = try await browser.post(location + "/start", [])
            #expect(try await ImportRunner(app: app).runNext())
            let person = try #require(
                try await Candidate.query(on: app.db).filter(\.$email == "ines@example.com").first())
            #expect(person.firstName == "Inès" && person.lastName == "Moreau")
            let done = try await browser.get(location)
            #expect(done.body.contains(app.translations.text("import.status.done", .fr)))
            #expect(try await AuditEvent.query(on: app.db).filter(\.$action == "candidates_imported").count() == 1)
            // The upload, personal data, is gone once imported.
            let job = try #require(try await PoolImport.query(on: app.db).first())
            #expect((try? app.blobs.get(job.storageKey)) == nil)
        }
    }
}

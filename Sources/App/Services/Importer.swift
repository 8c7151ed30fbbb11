import Fluent
import SQLKit
import Vapor
import VivierCore

/// What a column of an imported file can be.
enum ImportField: String, CaseIterable, Codable, Sendable {
    case email
    case firstName = "first_name"
    case lastName = "last_name"
    case phone, language, location, tags
    /// How the person's talent-pool consent was obtained; empty means no consent.
    case consent
    /// A job (its title or its slug) the person applied to, for past applications.
    case job
    case appliedAt = "applied_at"
    case outcome
    case note

    /// Header names this field is recognised by, folded (lower case, no accents, no punctuation).
    var names: [String] {
        switch self {
        case .email: ["email", "e mail", "mail", "courriel", "adresse email", "adresse e mail", "email address"]
        case .firstName: ["first name", "firstname", "prenom", "given name"]
        case .lastName: ["last name", "lastname", "nom", "nom de famille", "surname", "family name"]
        case .phone: ["phone", "telephone", "tel", "mobile", "portable"]
        case .language: ["language", "langue", "locale"]
        case .location: ["location", "ville", "city", "localisation", "lieu"]
        case .tags: ["tags", "tag", "etiquettes", "competences", "skills", "mots cles"]
        case .consent: ["consent", "consentement", "consentement vivier", "talent pool consent", "opt in"]
        case .job: ["job", "offre", "poste", "job title", "intitule du poste"]
        case .appliedAt: ["applied at", "date", "date de candidature", "applied on", "application date"]
        case .outcome: ["outcome", "statut", "status", "resultat", "decision"]
        case .note: ["note", "notes", "commentaire", "commentaires", "comment", "comments"]
        }
    }
}

/// Which column (by header name) each field is read from.
struct ImportMapping: Codable, Equatable, Sendable {
    var columns: [String: String] = [:]

    subscript(field: ImportField) -> String? {
        get { columns[field.rawValue] }
        set { columns[field.rawValue] = newValue }
    }

    /// The mapping a person would most likely choose, from the header names.
    static func guess(_ header: [String]) -> ImportMapping {
        var mapping = ImportMapping()
        let folded = header.map(fold)
        for field in ImportField.allCases {
            if let index = folded.firstIndex(where: { field.names.contains($0) }),
                !mapping.columns.values.contains(header[index])
            {
                mapping[field] = header[index]
            }
        }
        return mapping
    }

    static func fold(_ name: String) -> String {
        String(Text.fold(name).map { $0.isLetter || $0.isNumber ? $0 : " " }).split(separator: " ")
            .joined(separator: " ")
    }
}

/// What a dry run (and then the import) found: counts, and every refused cell with its line and column.
struct ImportReport: Codable, Equatable, Sendable {
    /// A refused cell (or a merged row): its line, its column, and why, as a message key (`import.reason.<key>`)
    /// with the values it names, so each reader gets it in their language.
    struct Issue: Codable, Equatable, Sendable {
        var line: Int
        var column: String
        var key: String
        var values: [String] = []

        /// The reason in words: `translate` gives the message, whose `{1}`, `{2}`… are the values.
        func reason(_ translate: (String) -> String) -> String {
            var text = translate("import.reason.\(key)")
            for (index, value) in values.enumerated() {
                text = text.replacingOccurrences(of: "{\(index + 1)}", with: value)
            }
            return text
        }
    }

    var encoding = ""
    var separator = ""
    var records = 0
    /// Distinct people among the valid rows.
    var people = 0
    var newPeople = 0
    var existingPeople = 0
    var applications = 0
    var withConsent = 0
    /// Rows whose address appeared on an earlier row: merged into it.
    var merged: [Issue] = []
    /// Refused cells; a row with any is not imported. At most `maxListed` are kept, `errorCount` counts them all.
    var errors: [Issue] = []
    var errorCount = 0
    var rowsRefused = 0

    static let maxListed = 1000
}

/// One person as the file describes them, all their rows merged.
struct ImportPerson: Sendable {
    struct Application: Sendable {
        var jobID: UUID
        var appliedAt: Date?
        var outcome: ApplicationOutcome
    }

    var line: Int
    var email: String
    var firstName = ""
    var lastName = ""
    var phone = ""
    var language: Language?
    var location = ""
    var tags: [String] = []
    var consentProof: String?
    var applications: [Application] = []
    var notes: [String] = []
}

/// Moment 0 for a company arriving with a spreadsheet: the file checked row by row (a dry run writes nothing),
/// then written in batches, each a transaction holding whole people.
enum Importer {
    struct Plan: Sendable {
        var people: [ImportPerson]
        var report: ImportReport
    }

    /// The file read with `mapping`, against the jobs that exist: who would be imported and every problem, by line.
    static func plan(_ table: CSVTable, mapping: ImportMapping, jobs: [Job], now: Date) -> Plan {
        var report = ImportReport()
        report.encoding = table.encoding
        report.separator = table.separator == "\t" ? "tab" : String(table.separator)
        report.records = table.records.count
        let columns = Dictionary(
            uniqueKeysWithValues: ImportField.allCases.compactMap { field in
                mapping[field].flatMap { name in table.header.firstIndex(of: name) }.map { (field, $0) }
            })
        let jobsByName = Dictionary(
            jobs.flatMap { job in [(Text.fold(job.title), job), (job.slug, job)] },
            uniquingKeysWith: { first, _ in first })
        var people: [ImportPerson] = []
        var byEmail: [String: Int] = [:]

        for record in table.records {
            var issues: [ImportReport.Issue] = []
            func cell(_ field: ImportField) -> String {
                guard let index = columns[field], index < record.cells.count else { return "" }
                return record.cells[index].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            func fail(_ field: ImportField, _ key: String, _ values: String...) {
                issues.append(
                    .init(line: record.line, column: mapping[field] ?? field.rawValue, key: key, values: values))
            }
            func text(_ field: ImportField, max: Int) -> String {
                let value = cell(field)
                if value.count > max { fail(field, "too_long", "\(max)") }
                if Self.looksLikeFormula(value) {
                    fail(field, "formula", String(value.prefix(1)))
                }
                if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) {
                    fail(field, "control")
                }
                return value
            }

            let email = EmailAddress.normalize(cell(.email))
            if email.isEmpty {
                fail(.email, "email_empty")
            } else if !EmailAddress.isValid(email) {
                fail(.email, "email_invalid", String(cell(.email).prefix(80)))
            }
            var person = ImportPerson(line: record.line, email: email)
            person.firstName = text(.firstName, max: ApplicantInput.maxNameLength)
            person.lastName = text(.lastName, max: ApplicantInput.maxNameLength)
            person.phone = cell(.phone)
            if !person.phone.isEmpty && !ApplicantInput.isPlausiblePhone(person.phone) {
                fail(.phone, "phone_invalid", String(person.phone.prefix(40)))
            }
            let language = Text.fold(cell(.language))
            switch language {
            case "": break
            case "fr", "francais", "french", "fr-fr": person.language = .fr
            case "en", "anglais", "english", "en-gb", "en-us": person.language = .en
            default: fail(.language, "language_invalid", String(cell(.language).prefix(40)))
            }
            person.location = text(.location, max: 200)
            let tags = text(.tags, max: 1000)
            person.tags = tags.split(whereSeparator: { ",;|".contains($0) }).map { String($0).trimmed.lowercased() }
                .filter { !$0.isEmpty }
            if person.tags.contains(where: { $0.count > 40 }) { fail(.tags, "tag_too_long") }
            let consent = text(.consent, max: 500)
            switch Text.fold(consent) {
            case "", "non", "no", "false", "0", "n": break
            case "oui", "yes", "true", "1", "x", "y", "o", "ok", "vrai":
                fail(.consent, "consent_bare", consent)
            default: person.consentProof = consent
            }
            let jobName = text(.job, max: 200)
            if !jobName.isEmpty {
                if let job = jobsByName[Text.fold(jobName)] ?? jobsByName[jobName.lowercased()], let jobID = job.id {
                    var appliedAt: Date?
                    let dateText = cell(.appliedAt)
                    if !dateText.isEmpty {
                        appliedAt = Self.date(dateText)
                        if appliedAt == nil {
                            fail(.appliedAt, "date_invalid", String(dateText.prefix(40)))
                        } else if appliedAt! > now {
                            fail(.appliedAt, "date_future")
                        }
                    }
                    let outcomeText = Text.fold(cell(.outcome))
                    if let outcome = Self.outcomes[outcomeText] {
                        person.applications.append(.init(jobID: jobID, appliedAt: appliedAt, outcome: outcome))
                    } else {
                        fail(.outcome, "outcome_invalid", String(cell(.outcome).prefix(40)))
                    }
                } else {
                    fail(.job, "job_unknown", String(jobName.prefix(80)))
                }
            }
            let note = text(.note, max: 10_000)
            if !note.isEmpty { person.notes = [note] }

            guard issues.isEmpty else {
                report.rowsRefused += 1
                report.errorCount += issues.count
                report.errors += issues.prefix(max(0, ImportReport.maxListed - report.errors.count))
                continue
            }
            if let index = byEmail[email] {
                // The first row keeps its values; later rows fill what it left empty and add to its lists.
                var first = people[index]
                if first.firstName.isEmpty { first.firstName = person.firstName }
                if first.lastName.isEmpty { first.lastName = person.lastName }
                if first.phone.isEmpty { first.phone = person.phone }
                if first.location.isEmpty { first.location = person.location }
                first.language = first.language ?? person.language
                first.consentProof = first.consentProof ?? person.consentProof
                first.tags += person.tags.filter { !first.tags.contains($0) }
                first.applications += person.applications
                first.notes += person.notes
                people[index] = first
                report.merged.append(
                    .init(
                        line: record.line, column: mapping[.email] ?? "email",
                        key: "merged", values: ["\(first.line)"]))
            } else {
                byEmail[email] = people.count
                people.append(person)
            }
        }
        report.people = people.count
        report.applications = people.reduce(0) { $0 + $1.applications.count }
        report.withConsent = people.filter { $0.consentProof != nil }.count
        return Plan(people: people, report: report)
    }

    /// `=`, `@`, or a sign before something that is not a number: what a spreadsheet would run as a formula.
    static func looksLikeFormula(_ value: String) -> Bool {
        guard let first = value.first else { return false }
        if first == "=" || first == "@" { return true }
        if first == "+" || first == "-" {
            let next = value.dropFirst().first
            return next.map { !$0.isNumber && !$0.isWhitespace } ?? false
        }
        return false
    }

    static let outcomes: [String: ApplicationOutcome] = [
        "": .rejected, "rejected": .rejected, "refuse": .rejected, "refusee": .rejected, "non retenu": .rejected,
        "active": .active, "en cours": .active, "open": .active, "hired": .hired, "embauche": .hired,
        "embauchee": .hired, "recrute": .hired, "recrutee": .hired, "withdrawn": .withdrawn, "retire": .withdrawn,
        "desiste": .withdrawn, "abandon": .withdrawn,
    ]

    /// `2024-03-15`, `2024-03-15T10:00:00Z`, `15/03/2024` or `15/03/2024 10:00` (day first, as in France).
    static func date(_ text: String) -> Date? {
        if let date = APIDates.parse(text) { return date }
        let parts = text.split(whereSeparator: { "-/. :T".contains($0) }).map { Int($0) }
        guard parts.count >= 3, parts.allSatisfy({ $0 != nil }) else { return nil }
        let numbers = parts.map { $0! }
        let (year, month, day) =
            numbers[0] > 31 ? (numbers[0], numbers[1], numbers[2]) : (numbers[2], numbers[1], numbers[0])
        guard (1900...2100).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris")!
        let components = DateComponents(
            year: year, month: month, day: day, hour: numbers.count > 3 ? numbers[3] : 12,
            minute: numbers.count > 4 ? numbers[4] : 0)
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else {
            return nil
        }
        return date
    }

    struct Written: Sendable {
        var created = 0
        var merged = 0
        var applications = 0
    }

    /// Writes `people` in one transaction of the caller: new people created, known ones completed (their own values
    /// kept), tags, consent events with their proof, past applications, notes, the search index; and, when asked,
    /// the GDPR art. 14 notice to each person imported without consent.
    static func write(
        _ people: ArraySlice<ImportPerson>, source: String, by user: User?, sendNotice: Bool, on db: any Database,
        composer: Composer?, now: Date
    ) async throws -> Written {
        var written = Written()
        let emails = people.map(\.email)
        let existing = Dictionary(
            try await Candidate.query(on: db).filter(\.$email ~~ emails).all().map { ($0.email, $0) },
            uniquingKeysWith: { first, _ in first })
        var created: [(id: UUID, person: ImportPerson)] = []
        var touched: [UUID] = []
        var ids: [String: UUID] = [:]
        for person in people {
            if let known = existing[person.email] {
                let id = try known.requireID()
                if known.firstName.isEmpty { known.firstName = person.firstName }
                if known.lastName.isEmpty { known.lastName = person.lastName }
                if known.phone.isEmpty { known.phone = person.phone }
                if known.location.isEmpty { known.location = person.location }
                try await known.save(on: db)
                ids[person.email] = id
                touched.append(id)
                written.merged += 1
            } else {
                let id = UUID()
                created.append((id, person))
                ids[person.email] = id
                written.created += 1
            }
        }
        // New people, their consents, tags and timeline entries go in as plain multi-row inserts: Fluent's per-model
        // reflection was half of an import's time. The columns are those the models write. (Emails were normalised
        // when the file was read.)
        try await insert(
            Candidate.schema,
            [
                "id", "created_at", "updated_at", "last_active_contact_at", "email", "first_name", "last_name", "phone",
                "language", "location", "newsletter_rhythm",
            ],
            created.map { id, person in
                [
                    id, now, now, person.applications.compactMap(\.appliedAt).max(),
                    person.email,
                    person.firstName, person.lastName, person.phone, (person.language ?? .fr).rawValue,
                    person.location, "biweekly",
                ]
            }, on: db)

        // Tags: created once by name, linked once per person.
        let tagNames = Set(people.flatMap(\.tags))
        var tags = Dictionary(
            try await Tag.query(on: db).filter(\.$name ~~ Array(tagNames)).all().map { ($0.name, $0) },
            uniquingKeysWith: { first, _ in first })
        let missing = tagNames.subtracting(tags.keys).sorted().map { Tag(name: $0) }
        for tag in missing { tag.id = UUID() }
        if !missing.isEmpty { try await missing.create(on: db) }
        for tag in missing { tags[tag.name] = tag }
        let linked = Set(
            try await CandidateTag.query(on: db).filter(\.$candidate.$id ~~ touched).all().map {
                "\($0.$candidate.id)|\($0.$tag.id)"
            })
        var links: [CandidateTag] = []
        // Consent events and states as the rows they become (everything but the person and proof is the import's).
        var events: [[any Encodable & Sendable]] = []
        var states: [[any Encodable & Sendable]] = []
        var interactions: [Interaction] = []
        var applications: [JobApplication] = []
        var notes: [Note] = []
        let jobIDs = Set(people.flatMap { $0.applications.map(\.jobID) })
        let stages = try await Stage.query(on: db).filter(\.$job.$id ~~ Array(jobIDs)).sort(\.$position).all()
        let knownApplications = Set(
            try await JobApplication.query(on: db).filter(\.$candidate.$id ~~ touched).all().compactMap { application in
                application.$job.id.map { "\(application.$candidate.id)|\($0)" }
            })
        let wording = try await ConsentWording.query(on: db).filter(\.$purpose == .talentPool).all()
        for person in people {
            let id = ids[person.email]!
            for name in person.tags {
                guard let tagID = tags[name]?.id, !linked.contains("\(id)|\(tagID)") else { continue }
                links.append(CandidateTag(candidateID: id, tagID: tagID))
            }
            if let proof = person.consentProof {
                let locale = (person.language ?? .fr).rawValue
                let version = wording.filter { $0.locale == locale }.map(\.version).max() ?? 1
                events.append([
                    UUID(), now, id, ConsentPurpose.talentPool.rawValue, ConsentAction.granted.rawValue,
                    ConsentChannel.import.rawValue, version, locale, proof,
                ])
                if existing[person.email] == nil {
                    states.append([
                        UUID(), id, ConsentPurpose.talentPool.rawValue, "", ConsentAction.granted.rawValue, now,
                    ])
                }
                interactions.append(
                    Interaction(
                        candidateID: id, applicationID: nil, actorID: user?.id, kind: .consent,
                        detail: "talent_pool:granted (import)", at: now))
            }
            for past in person.applications where !knownApplications.contains("\(id)|\(past.jobID)") {
                let jobStages = stages.filter { $0.$job.id == past.jobID }
                let stage = past.outcome == .hired ? jobStages.last { $0.kind == .hired } : jobStages.first
                let at = past.appliedAt ?? now
                let application = JobApplication(
                    candidateID: id, jobID: past.jobID, stageID: stage?.id, source: .import, sourceDetail: source,
                    coverLetter: "", submissionToken: nil, now: at)
                application.id = UUID()
                application.outcome = past.outcome
                if past.outcome != .active {
                    application.decidedAt = at
                    application.closingReason =
                        past.outcome == .rejected
                        ? ClosingReason.positionFilled.rawValue
                        : past.outcome == .withdrawn ? ClosingReason.candidateWithdrew.rawValue : nil
                }
                applications.append(application)
                interactions.append(
                    Interaction(
                        candidateID: id, applicationID: application.id, actorID: user?.id, kind: .applied,
                        detail: "import: \(source)", at: at))
                written.applications += 1
            }
            for body in person.notes {
                notes.append(Note(candidateID: id, authorID: user?.id, body: body, at: now))
                interactions.append(
                    Interaction(
                        candidateID: id, applicationID: nil, actorID: user?.id, kind: .note,
                        detail: String(body.prefix(140)), at: now))
            }
        }
        try await insert(
            CandidateTag.schema, ["id", "candidate_id", "tag_id"],
            links.map { [UUID(), $0.$candidate.id, $0.$tag.id] }, on: db)
        try await insert(
            ConsentEvent.schema,
            ["id", "created_at", "candidate_id", "purpose", "action", "channel", "wording_version", "locale", "proof"],
            events, on: db)
        try await insert(
            ConsentState.schema, ["id", "candidate_id", "purpose", "series", "action", "at"], states, on: db)
        if !applications.isEmpty { try await applications.create(on: db) }
        if !notes.isEmpty { try await notes.create(on: db) }
        try await insert(
            Interaction.schema, ["id", "created_at", "candidate_id", "application_id", "actor_id", "kind", "detail"],
            interactions.map {
                [UUID(), $0.createdAt, $0.$candidate.id, $0.$application.id, $0.$actor.id, $0.kind.rawValue, $0.detail]
            }, on: db)
        for person in people where existing[person.email] != nil && person.consentProof != nil {
            try await ConsentLedger.refresh(ids[person.email]!, on: db)
        }
        try await SearchIndex.add(
            created.map { id, person in
                (
                    id,
                    SearchIndex.body(
                        firstName: person.firstName, lastName: person.lastName,
                        email: person.email, phone: person.phone,
                        with: person.tags + person.notes)
                )
            }, on: db)
        for id in touched { try await SearchIndex.refresh(candidateID: id, on: db) }

        if sendNotice, let composer {
            let uninformed = created.filter { $0.person.consentProof == nil }.map(\.id)
            for candidate in try await Candidate.query(on: db).filter(\.$id ~~ uninformed).all() {
                _ = try await composer.send(
                    .importNotice, to: candidate, application: nil, job: nil, extra: ["source": source],
                    dedupeKey: "import-notice:\(candidate.id!.lowercasedString)")
            }
        }
        return written
    }

    /// `Database.insert(into:columns:rows:)` with every value bound.
    private static func insert(
        _ table: String, _ columns: [String], _ rows: [[any Encodable & Sendable]], on db: any Database
    ) async throws {
        try await db.insert(into: table, columns: columns, rows: rows.map { $0.map { SQLBind($0) } })
    }
}

import Fluent
import Vapor
import VivierAPI
import VivierCore

extension APIService {
    func listCandidates(_ input: Operations.ListCandidates.Input) async throws -> Operations.ListCandidates.Output {
        let (req, _) = try context
        let paging = try Paging(cursor: input.query.cursor, limit: input.query.limit)
        var query = Candidate.query(on: req.db).filter(\.$erasedAt == nil).filter(\.$mergedInto.$id == nil)
        if let email = input.query.email {
            guard email.count <= 254 else { throw Problem.invalid("query.email", "At most 254 characters.") }
            // No address holds one, and PostgreSQL refuses a NUL in any text it is given.
            guard !email.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw Problem.invalid("query.email", "Must not contain control characters.")
            }
            query = query.filter(\.$email == EmailAddress.normalize(email))
        }
        let (people, next) = try paging.split(try await paging.apply(query).all(), date: \.createdAt)
        let tags = try await Self.tags(of: people.compactMap(\.id), on: req.db)
        return .ok(
            .init(
                body: .json(
                    .init(data: try people.map { try Self.candidate($0, tags: tags[$0.id!] ?? []) }, nextCursor: next)))
        )
    }

    func getCandidate(_ input: Operations.GetCandidate.Input) async throws -> Operations.GetCandidate.Output {
        let (req, _) = try context
        let person = try await findCandidate(input.path.candidateId, req)
        let tags = try await Self.tags(of: [person.requireID()], on: req.db)
        return .ok(.init(body: .json(try Self.candidate(person, tags: tags[person.id!] ?? []))))
    }

    func createCandidate(_ input: Operations.CreateCandidate.Input) async throws -> Operations.CreateCandidate.Output {
        let (req, token) = try context
        guard case .json(let new) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        var check = Validation()
        Self.person(
            ApplicantInput(
                firstName: new.firstName, lastName: new.lastName, email: new.email, phone: new.phone ?? "",
                coverLetter: ""), at: "body", into: &check, req)
        check.text(new.location, "body.location", max: 200)
        try check.check()
        let email = EmailAddress.normalize(new.email)
        if let existing = try await Candidate.query(on: req.db).filter(\.$email == email).first() {
            throw Problem(
                .conflict, "A person with this address exists: \(try existing.requireID().api).",
                errors: [.init(field: "body.email", reason: "Already known.")])
        }
        let person = Candidate(
            email: email, firstName: new.firstName.trimmed, lastName: new.lastName.trimmed,
            phone: (new.phone ?? "").trimmed, language: Language(rawValue: new.language?.rawValue ?? "fr")!)
        person.location = (new.location ?? "").trimmed
        let actor = try await actor(token, on: req.db)
        let now = req.now
        try await req.db.writeTransaction { db in
            try await person.create(on: db)
            try await Interaction(
                candidateID: try person.requireID(), applicationID: nil, actorID: actor?.id, kind: .note,
                detail: "added through the API (\(token.name))", at: now
            ).create(on: db)
        }
        try await SearchIndex.refresh(candidateID: try person.requireID(), on: req.db)
        return .created(.init(body: .json(try Self.candidate(person, tags: []))))
    }

    func listNotes(_ input: Operations.ListNotes.Input) async throws -> Operations.ListNotes.Output {
        let (req, _) = try context
        let person = try await findCandidate(input.path.candidateId, req)
        let paging = try Paging(cursor: input.query.cursor, limit: input.query.limit)
        let personID = try person.requireID()
        let query = Note.query(on: req.db).filter(\.$candidate.$id == personID).with(\.$author)
        let (notes, next) = try paging.split(try await paging.apply(query).all(), date: \.createdAt)
        return .ok(.init(body: .json(.init(data: try notes.map(Self.note), nextCursor: next))))
    }

    func createNote(_ input: Operations.CreateNote.Input) async throws -> Operations.CreateNote.Output {
        let (req, token) = try context
        guard case .json(let new) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        let person = try await findCandidate(input.path.candidateId, req)
        var check = Validation()
        check.text(new.body, "body.body", min: 1, max: 10_000)
        try check.check()
        let id = try person.requireID()
        let actor = try await actor(token, on: req.db)
        let body = new.body.trimmed.replacingOccurrences(of: "\r\n", with: "\n")
        let note = Note(candidateID: id, authorID: actor?.id, body: body, at: req.now)
        let now = req.now
        try await req.db.writeTransaction { db in
            try await note.create(on: db)
            try await Interaction(
                candidateID: id, applicationID: nil, actorID: actor?.id, kind: .note,
                detail: String(body.prefix(140)), at: now
            ).create(on: db)
        }
        try await SearchIndex.refresh(candidateID: id, on: req.db)
        note.$author.value = actor
        return .created(.init(body: .json(try Self.note(note))))
    }

    func listTags(_ input: Operations.ListTags.Input) async throws -> Operations.ListTags.Output {
        let (req, _) = try context
        let id = try await findCandidate(input.path.candidateId, req).requireID()
        let tags = try await Self.tags(of: [id], on: req.db)[id] ?? []
        return .ok(.init(body: .json(.init(data: tags))))
    }

    func addTag(_ input: Operations.AddTag.Input) async throws -> Operations.AddTag.Output {
        let (req, token) = try context
        guard case .json(let new) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        let id = try await findCandidate(input.path.candidateId, req).requireID()
        var check = Validation()
        check.text(new.name, "body.name", min: 1, max: 40)
        try check.check()
        let name = new.name.trimmed.lowercased()
        let actor = try await actor(token, on: req.db)
        try await CandidatesController.tag(id, with: name, by: actor, on: req.db, now: req.now)
        return .ok(.init(body: .json(.init(data: try await Self.tags(of: [id], on: req.db)[id] ?? []))))
    }

    func findCandidate(_ raw: String, _ req: Request) async throws -> Candidate {
        guard let person = try await Candidate.find(try Self.id(raw, "person"), on: req.db), person.erasedAt == nil,
            person.$mergedInto.id == nil
        else { throw Problem.notFound("person") }
        return person
    }

    /// The checks of the career form, answered per field in English.
    static func person(_ input: ApplicantInput, at prefix: String, into check: inout Validation, _ req: Request) {
        for (field, key) in input.errors().sorted(by: { $0.key < $1.key }) {
            check.fail("\(prefix).\(field)", req.application.translations.text(key, .en))
        }
    }

    static func tags(of ids: [UUID], on db: any Database) async throws -> [UUID: [String]] {
        guard !ids.isEmpty else { return [:] }
        let links = try await CandidateTag.query(on: db).filter(\.$candidate.$id ~~ ids).with(\.$tag).all()
        return Dictionary(grouping: links, by: { $0.$candidate.id }).mapValues { $0.map(\.tag.name).sorted() }
    }

    static func candidate(_ person: Candidate, tags: [String]) throws -> Components.Schemas.Candidate {
        .init(
            id: try person.requireID().api, email: person.email, firstName: person.firstName, lastName: person.lastName,
            phone: person.phone, language: .init(rawValue: person.language) ?? .fr, location: person.location,
            createdAt: person.createdAt ?? .distantPast, lastActiveContactAt: person.lastActiveContactAt, tags: tags)
    }

    static func note(_ note: Note) throws -> Components.Schemas.Note {
        .init(
            id: try note.requireID().api, body: note.body, createdAt: note.createdAt,
            author: note.$author.value??.name)
    }
}

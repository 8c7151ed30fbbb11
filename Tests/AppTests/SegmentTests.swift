import Fluent
import Foundation
import Testing
import Vapor
import VivierCore

@testable import App

@Suite("Segments: filter semantics on a fixture population")
struct SegmentTests {
    /// Five people and one merged shell, each fact chosen so that every rule below has a hand-derived answer.
    struct Population {
        var ids: [String: UUID]
        var series: UUID
        var devJob: UUID

        func names(_ found: [UUID]) -> Set<String> {
            Set(found.compactMap { id in ids.first { $0.value == id }?.key })
        }
    }

    static func population(_ app: Application) async throws -> Population {
        let db = app.db
        let now = app.clock.now()
        let dev = try await Fixtures.job(app, title: "Dev")  // Tech, Paris
        let data = try await Fixtures.job(app, title: "Data")
        data.department = "Data"
        data.location = "Lyon"
        try await data.save(on: db)
        let series = NewsletterSeries(
            name: "Tech", summary: "", cadence: .biweekly, weekday: 2, hour: 10, timeZone: "Europe/Paris",
            offersDigest: true, segmentID: nil, at: now)
        try await series.create(on: db)
        let seriesID = try series.requireID()
        func stage(_ job: Job, _ kind: StageKind) async throws -> UUID {
            try #require(
                try await Stage.query(on: db).filter(\.$job.$id == job.requireID()).filter(\.$kind == kind).first()?.id)
        }
        var ids: [String: UUID] = [:]
        func person(_ name: String, _ language: Language, location: String = "", active: String?) async throws -> UUID {
            let candidate = Candidate(
                email: "\(name.lowercased())@example.com", firstName: name, lastName: "Test", phone: "",
                language: language)
            candidate.location = location
            candidate.lastActiveContactAt = active.flatMap(SegmentDefinition.day)
            try await candidate.create(on: db)
            ids[name] = try candidate.requireID()
            return try candidate.requireID()
        }
        func apply(
            _ id: UUID, _ job: Job, _ kind: StageKind, _ outcome: ApplicationOutcome, on day: String,
            source: JobApplication.Source = .careerSite
        ) async throws {
            let application = JobApplication(
                candidateID: id, jobID: job.id, stageID: try await stage(job, kind), source: source, sourceDetail: "",
                coverLetter: "", submissionToken: nil, now: try #require(SegmentDefinition.day(day)))
            application.outcome = outcome
            try await application.create(on: db)
        }
        func tag(_ id: UUID, _ name: String) async throws {
            let tag = Tag(name: name)
            try await tag.create(on: db)
            try await CandidateTag(candidateID: id, tagID: tag.requireID()).create(on: db)
        }
        func consent(
            _ id: UUID, _ purpose: ConsentPurpose, _ action: ConsentAction, series: UUID? = nil, daysAgo: Double
        )
            async throws
        {
            try await ConsentLedger.record(
                purpose, action, for: id, channel: .careerForm, language: .fr, series: series, on: db,
                now: now - daysAgo * 86_400)
        }

        let alice = try await person("Alice", .fr, location: "Lyon", active: "2026-03-01")
        try await apply(alice, dev, .interview, .active, on: "2026-01-10")
        try await tag(alice, "Swift")
        try await Note(candidateID: alice, authorID: nil, body: "Experte Kotlin", at: now).create(on: db)
        try await consent(alice, .newsletter, .granted, daysAgo: 10)
        try await consent(alice, .newsletter, .confirmed, daysAgo: 9)
        try await consent(alice, .talentPool, .granted, daysAgo: 10)

        let bruno = try await person("Bruno", .en, active: "2025-06-01")
        try await apply(bruno, dev, .screening, .rejected, on: "2025-06-01", source: .referral)
        try await tag(bruno, "java")
        try await consent(bruno, .newsletter, .granted, daysAgo: 10)
        try await consent(bruno, .talentPool, .granted, daysAgo: 10)
        try await consent(bruno, .talentPool, .withdrawn, daysAgo: 5)

        let chloe = try await person("Chloé", .fr, active: "2026-02-15")
        try await apply(chloe, data, .hired, .hired, on: "2025-09-01")
        try await consent(chloe, .newsletter, .granted, daysAgo: 30)
        try await consent(chloe, .newsletter, .confirmed, daysAgo: 29)
        try await consent(chloe, .newsletter, .withdrawn, daysAgo: 2)

        let david = try await person("David", .fr, active: "2026-01-05")
        try await consent(david, .newsletter, .granted, daysAgo: 20)
        try await consent(david, .newsletter, .confirmed, daysAgo: 19)
        try await consent(david, .newsletter, .withdrawn, series: seriesID, daysAgo: 3)

        let emma = try await person("Emma", .en, active: nil)
        try await apply(emma, data, .new, .withdrawn, on: "2026-02-01")

        // A record merged into Alice: never counted, whatever it matches.
        let shell = try await person("Shell", .fr, location: "Lyon", active: "2026-03-01")
        try await consent(shell, .newsletter, .granted, daysAgo: 50)
        let merged = try #require(try await Candidate.find(shell, on: db))
        merged.$mergedInto.id = alice
        try await merged.save(on: db)
        try await ConsentLedger.refresh(shell, on: db)

        let campaign = Campaign(name: "Past", kind: .oneOff, purpose: .newsletter, at: now)
        try await campaign.create(on: db)
        try await CampaignEvent(
            campaignID: campaign.requireID(), outboxID: UUID(), candidateID: chloe, kind: .click, at: now - 5 * 86_400
        ).create(on: db)
        try await CampaignEvent(
            campaignID: campaign.requireID(), outboxID: UUID(), candidateID: emma, kind: .open, at: now - 40 * 86_400
        ).create(on: db)

        for id in ids.values { try await SearchIndex.refresh(candidateID: id, on: db) }
        return Population(ids: ids, series: seriesID, devJob: try dev.requireID())
    }

    static func rule(_ field: SegmentRule.Field, _ value: String, _ option: String = "", not: Bool = false)
        -> SegmentRule
    {
        SegmentRule(field: field, negate: not, value: value, option: option)
    }

    @Test func everyField_andGroups_matchTheHandDerivedPeople() async throws {
        try await withApp { app, clock in
            let people = try await Self.population(app)
            let query = SegmentQuery(db: app.db, now: clock.now())
            func match(_ definition: SegmentDefinition) async throws -> Set<String> {
                let found = try await query.page(definition, limit: 100)
                #expect(try await query.count(definition) == found.count)
                return people.names(found)
            }
            func one(_ rule: SegmentRule) async throws -> Set<String> {
                try await match(SegmentDefinition(rules: [rule]))
            }
            let everyone: Set<String> = ["Alice", "Bruno", "Chloé", "David", "Emma"]
            #expect(try await match(SegmentDefinition()) == everyone)
            #expect(try await one(Self.rule(.status, "current")) == ["Alice"])
            #expect(try await one(Self.rule(.status, "past")) == ["Bruno", "Chloé", "David", "Emma"])
            #expect(try await one(Self.rule(.outcome, "rejected")) == ["Bruno"])
            #expect(try await one(Self.rule(.outcome, "hired")) == ["Chloé"])
            #expect(try await one(Self.rule(.stageReached, "interview")) == ["Alice", "Chloé"])
            #expect(try await one(Self.rule(.stageReached, "screening")) == ["Alice", "Bruno", "Chloé"])
            #expect(try await one(Self.rule(.job, people.devJob.uuidString)) == ["Alice", "Bruno"])
            #expect(try await one(Self.rule(.department, "data")) == ["Chloé", "Emma"])
            #expect(try await one(Self.rule(.tag, "swift")) == ["Alice"])
            #expect(try await one(Self.rule(.keywords, "kotl")) == ["Alice"])
            #expect(try await one(Self.rule(.keywords, "experte kotlin")) == ["Alice"])
            #expect(try await one(Self.rule(.location, "lyon")) == ["Alice", "Chloé", "Emma"])
            #expect(try await one(Self.rule(.language, "en")) == ["Bruno", "Emma"])
            #expect(try await one(Self.rule(.source, "referral")) == ["Bruno"])
            #expect(try await one(Self.rule(.appliedAfter, "2026-01-01")) == ["Alice", "Emma"])
            #expect(try await one(Self.rule(.appliedBefore, "2026-01-01")) == ["Bruno", "Chloé"])
            // Emma has no active contact recorded: her record's creation (today) stands for it.
            #expect(try await one(Self.rule(.activeAfter, "2026-02-01")) == ["Alice", "Chloé", "Emma"])
            #expect(try await one(Self.rule(.activeBefore, "2026-02-01")) == ["Bruno", "David"])
            #expect(try await one(Self.rule(.clicked, "30")) == ["Chloé"])
            #expect(try await one(Self.rule(.opened, "60")) == ["Emma"])
            #expect(try await one(Self.rule(.opened, "30")) == [])

            // Consent states: latest event decides; a series' own withdrawal beats the earlier consent to all.
            #expect(try await one(Self.rule(.consent, "newsletter", "active")) == ["Alice", "David"])
            #expect(try await one(Self.rule(.consent, "newsletter", "pending")) == ["Bruno"])
            #expect(try await one(Self.rule(.consent, "newsletter", "withdrawn")) == ["Chloé"])
            #expect(try await one(Self.rule(.consent, "newsletter", "none")) == ["Emma"])
            let series = "newsletter:\(people.series.uuidString)"
            #expect(try await one(Self.rule(.consent, series, "active")) == ["Alice"])
            #expect(try await one(Self.rule(.consent, series, "withdrawn")) == ["Chloé", "David"])
            #expect(try await one(Self.rule(.consent, "talent_pool", "active")) == ["Alice"])
            #expect(try await one(Self.rule(.consent, "talent_pool", "withdrawn")) == ["Bruno"])

            // NOT on a rule, AND, OR, a negated group, a nested group.
            #expect(try await one(Self.rule(.tag, "swift", not: true)) == everyone.subtracting(["Alice"]))
            #expect(
                try await match(
                    SegmentDefinition(rules: [Self.rule(.language, "fr"), Self.rule(.status, "current", not: true)]))
                    == ["Chloé", "David"])
            #expect(
                try await match(
                    SegmentDefinition(match: .any, rules: [Self.rule(.tag, "swift"), Self.rule(.tag, "java")]))
                    == ["Alice", "Bruno"])
            #expect(
                try await match(
                    SegmentDefinition(
                        match: .any, negate: true,
                        rules: [Self.rule(.department, "Data"), Self.rule(.outcome, "rejected")]))
                    == ["Alice", "David"])
            #expect(
                try await match(
                    SegmentDefinition(
                        rules: [Self.rule(.language, "fr")],
                        groups: [
                            SegmentDefinition(
                                match: .any, rules: [Self.rule(.clicked, "30"), Self.rule(.keywords, "kotlin")])
                        ]))
                    == ["Alice", "Chloé"])

            // A campaign's audience: the segment and the consent it needs.
            let french = SegmentDefinition(rules: [Self.rule(.language, "fr")])
            #expect(try await query.count(french, requiring: (.newsletter, nil)) == 2)
            #expect(try await query.count(french, requiring: (.newsletter, people.series)) == 1)
        }
    }

    /// The people's facts follow every kind of write the triggers watch, and stay equal to a rebuild from the
    /// source tables.
    @Test func facts_followEveryWrite() async throws {
        try await withApp { app, clock in
            let people = try await Self.population(app)
            let db = app.db
            let query = SegmentQuery(db: db, now: clock.now())
            func one(_ rule: SegmentRule) async throws -> Set<String> {
                people.names(try await query.page(SegmentDefinition(rules: [rule]), limit: 100))
            }
            let id = { (name: String) in people.ids[name]! }
            let data = try #require(try await Job.query(on: db).filter(\.$department == "Data").first())
            data.department = "Analytics"
            data.location = "Nantes"
            try await data.save(on: db)
            #expect(try await one(Self.rule(.department, "data")) == [])
            #expect(try await one(Self.rule(.department, "analytics")) == ["Chloé", "Emma"])
            #expect(try await one(Self.rule(.location, "lyon")) == ["Alice"])

            let interview = try #require(
                try await Stage.query(on: db).filter(\.$job.$id == people.devJob).filter(\.$kind == .interview).first())
            interview.kind = .offer
            try await interview.save(on: db)
            #expect(try await one(Self.rule(.stageReached, "offer")) == ["Alice", "Chloé"])

            let emmas = try #require(
                try await JobApplication.query(on: db).filter(\.$candidate.$id == id("Emma")).first())
            emmas.outcome = .active
            try await emmas.save(on: db)
            #expect(try await one(Self.rule(.status, "current")) == ["Alice", "Emma"])
            try await JobApplication.query(on: db).filter(\.$candidate.$id == id("Bruno")).delete()
            #expect(try await one(Self.rule(.outcome, "rejected")) == [])
            #expect(try await one(Self.rule(.appliedBefore, "2026-01-01")) == ["Chloé"])

            try await ConsentLedger.record(
                .talentPool, .withdrawn, for: id("Alice"), channel: .portal, language: .fr, on: db, now: clock.now())
            #expect(try await one(Self.rule(.consent, "talent_pool", "active")) == [])
            let david = try #require(try await Candidate.find(id("David"), on: db))
            david.language = "en"
            try await david.save(on: db)
            #expect(try await one(Self.rule(.language, "en")) == ["Bruno", "David", "Emma"])

            // Emma merged into Bruno: her application moves to him, she is no longer counted.
            try await Merge.run(from: id("Emma"), into: id("Bruno"), actorID: nil, now: clock.now(), on: db)
            #expect(try await one(Self.rule(.status, "current")) == ["Alice", "Bruno"])
            #expect(try await one(Self.rule(.language, "en")) == ["Bruno", "David"])

            // Tags: a renamed tag, a link removed, a link added.
            let java = try #require(try await Tag.query(on: db).filter(\.$name == "java").first())
            java.name = "Kotlin"
            try await java.save(on: db)
            #expect(try await one(Self.rule(.tag, "kotlin")) == ["Bruno"])
            try await CandidateTag.query(on: db).filter(\.$candidate.$id == id("Alice")).delete()
            #expect(try await one(Self.rule(.tag, "swift")) == [])
            try await CandidateTag(candidateID: id("Alice"), tagID: java.requireID()).create(on: db)
            #expect(try await one(Self.rule(.tag, "KOTLIN")) == ["Alice", "Bruno"])

            // Keywords: a note, once indexed, finds its person; their entry removed, nothing does.
            try await Note(candidateID: id("Chloé"), authorID: nil, body: "Rustacéenne confirmée", at: clock.now())
                .create(on: db)
            try await SearchIndex.refresh(candidateID: id("Chloé"), on: db)
            #expect(try await one(Self.rule(.keywords, "rustaceen")) == ["Chloé"])
            try await SearchIndex.remove(candidateID: id("Chloé"), on: db)
            #expect(try await one(Self.rule(.keywords, "rustaceen")) == [])
            #expect(try await one(Self.rule(.keywords, "chloe")) == [])
            try await SearchIndex.refresh(candidateID: id("Chloé"), on: db)
            #expect(try await one(Self.rule(.keywords, "chloe")) == ["Chloé"])

            // An erased person is never counted again.
            try await PersonalData.erase(
                id("David"), actor: nil, channel: .recruiter, app: app, db: db, now: clock.now())
            #expect(try await one(Self.rule(.language, "en")) == ["Bruno"])

            let rebuilt = CreateCandidateFacts.select(where: "1 = 1", postgres: db.isPostgres)
            struct Row: Decodable { var n: Int }
            for difference in [
                "SELECT * FROM candidate_facts EXCEPT \(rebuilt)", "\(rebuilt) EXCEPT SELECT * FROM candidate_facts",
            ] {
                let row = try await db.sql().raw("SELECT COUNT(*) AS n FROM (\(unsafeRaw: difference)) d")
                    .first(decoding: Row.self)
                #expect(row?.n == 0, "\(difference)")
            }
            #expect(
                try await Candidate.query(on: db).filter(\.$mergedInto.$id == nil).filter(\.$erasedAt == nil).count()
                    == (try await db.sql().raw(
                        "SELECT COUNT(*) AS n FROM candidate_facts"
                    ).first(decoding: Row.self))?.n)
        }
    }

    /// A count split into lanes by the people's numbers (SQLite, one lane per core) finds everyone once, whatever the
    /// number of lanes (more lanes than people too), with or without a keyword, whose list each lane reads for its
    /// own numbers only.
    @Test func laneCounts_findEveryoneOnce() async throws {
        try await withApp { app, clock in
            let ids = (0..<33).map { _ in UUID() }
            for (index, id) in ids.enumerated() {
                try await Candidate(
                    id: id, email: "lane\(index)@example.com", firstName: "Lane", lastName: "\(index)", phone: "",
                    language: .fr
                ).create(on: app.db)
                try await SearchIndex.refresh(candidateID: id, on: app.db)
            }
            // A list (the keyword's people) in each lane too.
            let named = SegmentDefinition(rules: [Self.rule(.keywords, "lane")])
            let plain = SegmentQuery(db: app.db, now: clock.now())
            #expect(try await plain.count(SegmentDefinition()) >= ids.count)
            #expect(try await plain.count(named) == ids.count)
            for lanes in [
                app.sqliteLanes, [app.db, app.db], [app.db, app.db, app.db], Array(repeating: app.db, count: 64),
            ] {
                let split = SegmentQuery(db: app.db, now: clock.now(), lanes: lanes)
                #expect(try await split.count(SegmentDefinition()) == plain.count(SegmentDefinition()))
                #expect(try await split.count(named) == ids.count)
            }
        }
    }

    @Test func badDefinitions_areRefusedWithTheirReason() async throws {
        let definition = SegmentDefinition(
            rules: [
                Self.rule(.appliedAfter, "31/01/2026"), Self.rule(.opened, "0"),
                Self.rule(.consent, "newsletter", "maybe"),
                Self.rule(.job, "not-a-job"), Self.rule(.keywords, "  ,  "),
            ],
            groups: [SegmentDefinition(rules: [Self.rule(.consent, "talent_pool:\(UUID())", "active")])])
        let problems = SegmentDefinition.problems(of: definition)
        #expect(problems.count == 6, "\(problems)")
        #expect(problems.contains("applied_after: write a date as 2026-01-31"))
        #expect(problems.contains { $0.hasPrefix("consent: unknown purpose") })
        try await withApp { app, clock in
            await #expect(throws: SegmentQuery.Invalid.self) {
                try await SegmentQuery(db: app.db, now: clock.now()).count(definition)
            }
        }
    }

    /// Random histories (seeded): the ledger's state, the kept current state, the send-time check and the segment
    /// rule all agree with "the latest relevant event decides", written here from scratch.
    @Test func consentState_afterAnySequenceOfEvents_agreesEverywhere() async throws {
        try await withApp { app, clock in
            let series = NewsletterSeries(
                name: "S", summary: "", cadence: .monthly, weekday: 1, hour: 9, timeZone: "Europe/Paris",
                offersDigest: false, segmentID: nil, at: clock.now())
            try await series.create(on: app.db)
            let seriesID = try series.requireID()
            var seed: UInt64 = 42
            func next(_ bound: Int) -> Int {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int((seed >> 33) % UInt64(bound))
            }
            let purposes: [ConsentPurpose] = [.newsletter, .jobAlerts, .talentPool]
            // Each person's history as written, in order: (purpose, about the series only, action).
            var histories: [UUID: [(ConsentPurpose, Bool, ConsentAction)]] = [:]
            for index in 0..<40 {
                let candidate = Candidate(
                    email: "h\(index)@example.com", firstName: "H", lastName: "\(index)", phone: "", language: .fr)
                try await candidate.create(on: app.db)
                let id = try candidate.requireID()
                var history: [(ConsentPurpose, Bool, ConsentAction)] = []
                for step in 0..<next(7) {
                    let purpose = purposes[next(purposes.count)]
                    let action = ConsentAction.allCases[next(ConsentAction.allCases.count)]
                    let onSeries = purpose == .newsletter && next(2) == 0
                    try await ConsentLedger.record(
                        purpose, action, for: id, channel: .recruiter, language: .fr, series: onSeries ? seriesID : nil,
                        on: app.db, now: clock.now() + Double(step))
                    history.append((purpose, onSeries, action))
                }
                histories[id] = history
            }
            let ids = Array(histories.keys)
            let query = SegmentQuery(db: app.db, now: clock.now())
            for purpose in purposes {
                for withSeries in purpose == .newsletter ? [false, true] : [false] {
                    // The model: the last event of the purpose about every newsletter or, for the series, about it.
                    func last(_ id: UUID) -> ConsentAction? {
                        histories[id]!.last { $0.0 == purpose && (withSeries || !$0.1) }?.2
                    }
                    let accepted: Set<ConsentAction> =
                        Newsletter.doubleOptIn.contains(purpose)
                        ? [.confirmed, .renewed] : [.granted, .confirmed, .renewed]
                    let active = Set(ids.filter { last($0).map(accepted.contains) ?? false })
                    let target = withSeries ? seriesID : nil
                    for id in ids {
                        #expect(
                            try await ConsentLedger.state(of: id, series: target, on: app.db)[purpose]
                                == last(id).map { [.granted, .confirmed, .renewed].contains($0) })
                    }
                    #expect(
                        try await ConsentLedger.marketable(ids, purpose: purpose, series: target, on: app.db) == active,
                        "send-time check for \(purpose) series: \(withSeries)")
                    let rule = SegmentRule(
                        field: .consent, value: purpose.rawValue + (withSeries ? ":\(seriesID.uuidString)" : ""),
                        option: "active")
                    #expect(
                        Set(try await query.page(SegmentDefinition(rules: [rule]), limit: 100)) == active,
                        "segment rule for \(purpose) series: \(withSeries)")
                    #expect(!active.isEmpty && active.count < ids.count, "the history exercises both answers")
                }
            }
        }
    }
}

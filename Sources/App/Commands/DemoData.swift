import Fluent
import Vapor
import VivierCore

/// Realistic French and English demo data so a newcomer sees a living system: a company, its team, 6 jobs and 300
/// candidates at every stage with notes, tags, consents and histories spread over the last four months.
/// Deterministic: the same seed gives the same data on every engine.
enum DemoData {
    static let candidateCount = 300

    static func loadIfEmpty(app: Application, console: any Console) async throws {
        guard try await Job.query(on: app.db).count() == 0, try await Candidate.query(on: app.db).count() == 0 else {
            console.output("Demo data not loaded: the database already has jobs or candidates.", style: .warning)
            return
        }
        try await load(on: app.db, config: app.config, now: app.clock.now())
        // The company's logo and colour, as an admin would set them on the company page.
        let logo = URL(fileURLWithPath: app.directory.resourcesDirectory).appendingPathComponent("Demo/logo.png")
        if let data = FileManager.default.contents(atPath: logo.path) {
            let bytes = [UInt8](data)
            var company = try await Company.load(on: app.db)
            company.logo = try app.blobs.put(bytes) + "|image/png"
            company.brandColor = "#0b5d3b"
            try await company.save(on: app.db)
        }
        console.output("Demo data loaded: 6 jobs, \(candidateCount) candidates.", style: .success)
    }

    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }
        mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
    }

    static let firstNames = [
        "Hélène", "Camille", "Léa", "Chloé", "Inès", "Manon", "Zoé", "Anaïs", "Océane", "Élodie", "Maëlle", "Noémie",
        "Aurélie",
        "Julien", "Thomas", "Lucas", "Hugo", "Théo", "Maxime", "Antoine", "Jérôme", "François", "Benoît", "Loïc",
        "Rémi", "Mathéo",
        "Sofia", "Amira", "Yasmine", "Karim", "Mehdi", "Nicolás", "João", "Emma", "Olivia", "James", "Oliver", "Priya",
        "Lukas",
        "Agnieszka", "Björn", "Søren", "Ana", "Giulia", "Matteo",
    ]
    static let lastNames = [
        "Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Garnier", "Fournier", "Girard", "Bonnet",
        "Dupont",
        "Lambert", "Fontaine", "Rousseau", "Vincent", "Müller", "Leroy", "Benoît", "Mercier", "Chevalier", "Faure",
        "André",
        "Gauthier", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gérard", "Boyer",
        "Nguyen",
        "Haddad", "Benali", "Ferreira", "Rossi", "Smith", "O'Brien", "Kowalski", "Johansson", "García", "Côté",
        "Lemaître",
    ]
    static let tags = [
        "swift", "vapor", "postgresql", "figma", "ux-research", "sql", "python", "anglais courant", "bilingue",
        "relancer", "vivier-prioritaire", "alternance", "management", "saas",
    ]
    static let notes = [
        "Très bon échange téléphonique, motivation claire pour le poste.",
        "Disponible dans 2 mois (préavis). Prétentions alignées avec la fourchette.",
        "Portfolio solide, à creuser sur la partie recherche utilisateur.",
        "Great communication, strong SQL; asked about the remote policy.",
        "Profil intéressant mais junior pour ce poste : à garder pour une prochaine ouverture.",
        "Second interview went well; references to check.",
        "Ne répond plus depuis deux relances.",
        "Recommandé par Julien (équipe produit).",
    ]

    struct JobSeed {
        var title: String
        var department: String
        var location: String
        var contract: Job.Contract
        var remote: Job.Remote
        var language: Language
        var status: Job.Status
        var description: String
    }

    static let jobs: [JobSeed] = [
        JobSeed(
            title: "Développeur·se backend Swift", department: "Tech", location: "Paris", contract: .cdi,
            remote: .hybrid, language: .fr, status: .open,
            description: """
                Nous cherchons un·e développeur·se backend pour faire grandir notre plateforme (Swift, Vapor, PostgreSQL).

                ## Vos missions
                - Concevoir et faire évoluer nos API
                - Améliorer la fiabilité et les performances
                - Partager vos connaissances avec l'équipe

                ## Votre profil
                - 3 ans d'expérience en développement serveur
                - Goût pour les tests et le code lisible

                ## Déroulement
                Un échange de 30 minutes, un exercice pratique, puis une rencontre avec l'équipe. Réponse sous 10 jours.
                """),
        JobSeed(
            title: "Product Designer", department: "Produit", location: "Lyon", contract: .cdi, remote: .hybrid,
            language: .fr, status: .open,
            description: """
                Rejoignez l'équipe produit pour concevoir des parcours simples et accessibles.

                - Recherche utilisateur et tests d'usage
                - Maquettes et prototypes (Figma)
                - Design system accessible (RGAA)
                """),
        JobSeed(
            title: "Chargé·e de recrutement", department: "Ressources humaines", location: "Paris", contract: .cdd,
            remote: .onsite, language: .fr, status: .open,
            description: """
                CDD de 12 mois pour accompagner notre croissance : sourcing, entretiens, relation candidats.

                **Ce que nous offrons** : une équipe bienveillante, des outils modernes, un vrai rôle dans l'expérience candidat.
                """),
        JobSeed(
            title: "Data Analyst", department: "Data", location: "Remote (France)", contract: .cdi, remote: .remote,
            language: .en, status: .open,
            description: """
                Help every team make better decisions with reliable data.

                ## What you will do
                - Build dashboards and self-service datasets
                - Partner with product and sales on analyses
                - Keep our metrics definitions honest

                ## About you
                - Strong SQL, some Python
                - Clear writing in English; French is a plus
                """),
        JobSeed(
            title: "Stage Marketing digital", department: "Marketing", location: "Nantes", contract: .internship,
            remote: .onsite, language: .fr, status: .open,
            description: """
                Stage de 6 mois à partir de février : contenus, réseaux sociaux, campagnes emailing.

                Vous préparez un bac+4/5 en marketing ou communication.
                """),
        JobSeed(
            title: "Customer Success Manager", department: "Customers", location: "Bordeaux", contract: .cdi,
            remote: .hybrid, language: .en, status: .closed,
            description: """
                Own the relationship with 40 mid-market customers: onboarding, adoption, renewals.
                """),
    ]

    /// Comments candidates leave in the survey.
    static let surveyComments = [
        "Réponse rapide et claire, merci.", "Entretien très humain, on sent une vraie équipe.",
        "J'aurais aimé un retour plus détaillé après l'entretien.", "Clear process, I always knew where I stood.",
        "Le rappel la veille et le guide de préparation m'ont beaucoup aidé.", "Un peu long entre les deux entretiens.",
    ]

    static func load(on database: any Database, config: AppConfig, now: Date) async throws {
        let adoption = now - 75 * 86_400
        try await database.transaction { db in
            var random = Generator(state: 20_261_130)
            try await Company(name: "Atelier Boréal", website: "https://atelier-boreal.example", country: "FR").save(
                on: db)
            let team = [
                User(
                    email: "camille.recrutement@atelier-boreal.example", name: "Camille Roux", role: .recruiter,
                    passwordHash: try Bcrypt.hash(Tokens.random()), locale: "fr"),
                User(
                    email: "julien.tech@atelier-boreal.example", name: "Julien Marchand", role: .hiringManager,
                    passwordHash: try Bcrypt.hash(Tokens.random()), locale: "fr"),
            ]
            for user in team { try await user.create(on: db) }
            for resource in prepResources(now: now) { try await resource.create(on: db) }
            let template = try await PipelineTemplateStage.query(on: db).sort(\.$position).all().map(\.template)

            var createdJobs: [(Job, [Stage])] = []
            for (index, seed) in jobs.enumerated() {
                let job = Job(
                    title: seed.title, slug: Text.slug(seed.title), department: seed.department,
                    location: seed.location, contractType: seed.contract,
                    remotePolicy: seed.remote, description: seed.description, language: seed.language,
                    status: seed.status)
                job.publishedAt = now - Double(120 - index * 12) * 86_400
                try await job.create(on: db)
                let jobID = try job.requireID()
                var stages: [Stage] = []
                for (position, stageTemplate) in template.enumerated() {
                    let stage = Stage(jobID: jobID, position: position, template: stageTemplate)
                    try await stage.create(on: db)
                    stages.append(stage)
                }
                try await JobMember(jobID: jobID, userID: team[0].requireID()).create(on: db)
                if index == 0 { try await JobMember(jobID: jobID, userID: team[1].requireID()).create(on: db) }
                createdJobs.append((job, stages))
            }

            var tagIDs: [String: UUID] = [:]
            for name in tags {
                let tag = Tag(name: name)
                try await tag.create(on: db)
                tagIDs[name] = try tag.requireID()
            }

            var usedEmails = Set<String>()
            for number in 0..<candidateCount {
                let first = random.pick(firstNames), last = random.pick(lastNames)
                var email =
                    Text.fold("\(first).\(last)").replacingOccurrences(of: " ", with: "").replacingOccurrences(
                        of: "'", with: "") + "@example.com"
                if usedEmails.contains(email) { email = email.replacingOccurrences(of: "@", with: "\(number)@") }
                usedEmails.insert(email)
                let language: Language = random.chance(75) ? .fr : .en
                let candidate = Candidate(
                    email: email, firstName: first, lastName: last,
                    phone: random.chance(70)
                        ? "+33 6 \(random.int(10..<99)) \(random.int(10..<99)) \(random.int(10..<99)) \(random.int(10..<99))"
                        : "",
                    language: language)
                let appliedAt = now - Double(random.int(0..<120)) * 86_400 - Double(random.int(0..<86_400))
                candidate.lastActiveContactAt = appliedAt
                try await candidate.create(on: db)
                // Creation stamps "now"; the demo's history happened earlier (updates leave created_at alone).
                candidate.createdAt = appliedAt
                try await candidate.save(on: db)
                let candidateID = try candidate.requireID()

                // A few people applied to two jobs, a few applied spontaneously.
                let spontaneous = random.chance(5)
                let applicationCount = spontaneous ? 1 : (random.chance(8) ? 2 : 1)
                var chosen = Set<Int>()
                for _ in 0..<applicationCount {
                    var jobIndex = random.int(0..<createdJobs.count)
                    while chosen.contains(jobIndex) { jobIndex = (jobIndex + 1) % createdJobs.count }
                    chosen.insert(jobIndex)
                    let (job, stages) = createdJobs[jobIndex]
                    var reached = spontaneous ? 0 : min(stages.count - 1, weightedStage(&random))
                    // Most old applications have been looked at; a few still wait too long, as in real life.
                    if !spontaneous && reached == 0 && now.timeIntervalSince(appliedAt) > 14 * 86_400
                        && random.chance(80)
                    {
                        reached = 1
                    }
                    let source: JobApplication.Source = random.pick([
                        .careerSite, .careerSite, .careerSite, .jobBoard, .referral, .manual,
                    ])
                    let application = JobApplication(
                        candidateID: candidateID, jobID: spontaneous ? nil : job.id,
                        stageID: spontaneous ? nil : stages[reached].id, source: source,
                        sourceDetail: source == .jobBoard
                            ? random.pick(["indeed", "welcometothejungle", "linkedin", "apec"]) : "",
                        coverLetter: random.chance(40)
                            ? (language == .fr
                                ? "Bonjour, votre offre a retenu toute mon attention…"
                                : "Hello, I was excited to see this opening…") : "",
                        submissionToken: nil, now: appliedAt)
                    try await application.create(on: db)
                    application.createdAt = appliedAt
                    let applicationID = try application.requireID()
                    try await Interaction(
                        candidateID: candidateID, applicationID: applicationID, actorID: nil, kind: .applied,
                        detail: spontaneous ? "spontaneous" : job.title, at: appliedAt
                    ).create(on: db)
                    // Since Vivier arrived (75 days ago), every application is acknowledged with a promised date,
                    // decisions come faster and candidates hear about them: the story the indicators tell.
                    let withVivier = appliedAt > adoption
                    func sent(_ kind: String, at date: Date) async throws {
                        let row = OutboxMessage(
                            kind: kind, dedupeKey: "demo:\(kind):\(applicationID):\(Int(date.timeIntervalSince1970))",
                            transactional: true, candidateID: candidateID, sender: "demo@atelier-boreal.example",
                            recipient: email, subject: "", needsSMTPUTF8: false, now: date)
                        row.applicationID = applicationID
                        row.status = .sent
                        row.sentAt = date + Double(random.int(15..<90))
                        row.attempts = 1
                        try await row.create(on: db)
                    }
                    if withVivier {
                        try await sent("acknowledgement", at: appliedAt)
                        application.promisedBy = WorkingCalendar.france(around: appliedAt).adding(
                            workingDays: 8, to: appliedAt)
                        application.promisedWorkingDays = 8
                        application.promiseBasis = "company"
                    }
                    var when = appliedAt
                    for step in stride(from: 1, through: reached, by: 1) {
                        when += Double(withVivier ? random.int(1..<5) : random.int(2..<16)) * 86_400
                        if withVivier && when < now {
                            try await sent(
                                stages[step].kind == .interview ? "interview_invitation" : "still_in_progress", at: when
                            )
                        }
                        try await Interaction(
                            candidateID: candidateID, applicationID: applicationID, actorID: team[0].id,
                            kind: .stageChanged,
                            detail: "\(stages[step - 1].name(in: .fr)) → \(stages[step].name(in: .fr))",
                            at: min(when, now)
                        ).create(on: db)
                    }
                    application.stageEnteredAt = min(when, now)
                    if !spontaneous && stages[reached].kind == .hired {
                        application.outcome = .hired
                        application.decidedAt = min(when, now)
                    } else if random.chance(job.status == .closed ? 90 : 40) {
                        let reason =
                            reached >= 2
                            ? ClosingReason.afterInterview
                            : random.pick([ClosingReason.profile, .profile, .positionFilled, .unresponsive])
                        let withdrew = random.chance(10)
                        application.outcome = withdrew ? .withdrawn : .rejected
                        application.closingReason =
                            withdrew ? ClosingReason.candidateWithdrew.rawValue : reason.rawValue
                        let decided = min(
                            when + Double(withVivier ? random.int(1..<6) : random.int(3..<25)) * 86_400, now)
                        application.decidedAt = decided
                        if withVivier && !withdrew { try await sent("rejection_\(reason.rawValue)", at: decided) }
                        try await Interaction(
                            candidateID: candidateID, applicationID: applicationID,
                            actorID: withdrew ? nil : team[0].id, kind: withdrew ? .withdrawn : .rejected,
                            detail: application.closingReason!, at: decided
                        ).create(on: db)
                    }
                    try await application.save(on: db)
                    // Ended since Vivier arrived: surveyed, and most answer, kindly when they were answered fast.
                    if withVivier, let decided = application.decidedAt, decided < now - 86_400,
                        application.outcome == .hired || application.outcome == .withdrawn
                            || application.closingReason == ClosingReason.afterInterview.rawValue
                    {
                        try await sent("satisfaction_survey", at: decided + 86_400)
                        if random.chance(60) {
                            let answer = SurveyAnswer()
                            answer.createdAt = min(decided + Double(random.int(1..<4)) * 86_400, now)
                            answer.$job.id = application.$job.id
                            answer.outcome = application.outcome.rawValue
                            answer.score = random.pick([10, 10, 9, 9, 9, 8, 8, 7, 6, 4])
                            answer.comment = random.chance(40) ? random.pick(surveyComments) : ""
                            answer.applicationHash = Survey.hash(applicationID)
                            try await answer.create(on: db)
                        }
                    }
                }

                // Consents in every state: given, confirmed from the mailbox, withdrawn later, renewed, expired.
                for purpose in [ConsentPurpose.talentPool, .newsletter, .jobAlerts, .partnerSharing]
                where random.chance(purpose == .talentPool ? 55 : purpose == .newsletter ? 40 : 20) {
                    func record(_ action: ConsentAction, after days: Int, channel: ConsentChannel) async throws {
                        try await ConsentLedger.record(
                            purpose, action, for: candidateID, channel: channel, language: language, on: db,
                            now: min(appliedAt + Double(days) * 86_400 + 3600, now))
                    }
                    try await record(.granted, after: 0, channel: .careerForm)
                    if Newsletter.doubleOptIn.contains(purpose), random.chance(75) {
                        try await record(.confirmed, after: 0, channel: .emailLink)
                        if random.chance(10) {
                            try await record(.withdrawn, after: random.int(5..<60), channel: .emailLink)
                        }
                    } else if purpose == .talentPool, random.chance(8) {
                        try await record(
                            random.chance(50) ? .renewed : .expired, after: random.int(20..<90), channel: .emailLink)
                    }
                }
                if random.chance(50) {
                    candidate.location = random.pick(["Lyon", "Paris", "Nantes", "Bordeaux", "Lille", "Remote"])
                    try await candidate.save(on: db)
                }
                for _ in 0..<random.int(0..<3) {
                    let name = random.pick(tags)
                    if try await CandidateTag.query(on: db).filter(\.$candidate.$id == candidateID).filter(
                        \.$tag.$id == tagIDs[name]!
                    ).count() == 0 {
                        try await CandidateTag(candidateID: candidateID, tagID: tagIDs[name]!).create(on: db)
                    }
                }
                if random.chance(35) {
                    let at = min(appliedAt + Double(random.int(1..<10)) * 86_400, now)
                    let body = random.pick(notes)
                    try await Note(candidateID: candidateID, authorID: team[0].id, body: body, at: at).create(on: db)
                    try await Interaction(
                        candidateID: candidateID, applicationID: nil, actorID: team[0].id, kind: .note,
                        detail: String(body.prefix(140)), at: at
                    ).create(on: db)
                }
                try await SearchIndex.refresh(candidateID: candidateID, on: db)
            }
            try await pool(on: db, config: config, now: now, jobs: createdJobs.map(\.0), random: &random)
        }
    }

    /// The talent pool's side: segments, two newsletters with past issues (sent, clicked, opened, a few
    /// unsubscribes), and a job proposed to the people of the pool it matches, waiting as a draft.
    static func pool(on db: any Database, config: AppConfig, now: Date, jobs: [Job], random: inout Generator)
        async throws
    {
        let tech = try Segment(
            name: "Profils tech",
            definition: SegmentDefinition(
                match: .any,
                rules: [
                    SegmentRule(field: .department, value: "Tech"), SegmentRule(field: .tag, value: "swift"),
                    SegmentRule(field: .tag, value: "postgresql"),
                ]), at: now - 60 * 86_400)
        let finalists = try Segment(
            name: "Finalistes non retenus",
            definition: SegmentDefinition(
                rules: [
                    SegmentRule(field: .stageReached, value: "interview"),
                    SegmentRule(field: .outcome, value: "rejected"),
                ]), at: now - 50 * 86_400)
        let lyon = try Segment(
            name: "Vivier lyonnais",
            definition: SegmentDefinition(
                rules: [
                    SegmentRule(field: .location, value: "Lyon"),
                    SegmentRule(field: .status, negate: true, value: "current"),
                ]), at: now - 40 * 86_400)
        for segment in [tech, finalists, lyon] { try await segment.create(on: db) }

        let series = [
            NewsletterSeries(
                name: "Les nouvelles de l'équipe Tech", summary: "Nos projets, nos outils, nos offres tech.",
                cadence: .biweekly, weekday: 2, hour: 10, timeZone: "Europe/Paris", offersDigest: true,
                segmentID: tech.id, at: now - 70 * 86_400),
            NewsletterSeries(
                name: "La vie de l'atelier", summary: "Une fois par mois : l'équipe, les coulisses, les offres.",
                cadence: .monthly, weekday: 4, hour: 9, timeZone: "Europe/Paris", offersDigest: false, segmentID: nil,
                at: now - 70 * 86_400),
        ]
        for item in series { try await item.create(on: db) }
        let issues: [(NewsletterSeries, String, String, Int)] = [
            (series[0], "Comment nous testons Vivier", "How we test Vivier", 42),
            (series[0], "Swift sur le serveur, un an après", "Server-side Swift, a year on", 28),
            (series[0], "Trois offres tech ouvertes", "Three tech jobs open", 14),
            (series[1], "Septembre à l'atelier", "September at the workshop", 56),
            (series[1], "Octobre : nouveaux visages", "October: new faces", 25),
        ]
        for (item, subjectFR, subjectEN, daysAgo) in issues {
            let sentAt = now - Double(daysAgo) * 86_400
            let campaign = Campaign(name: subjectFR, kind: .newsletter, purpose: .newsletter, at: sentAt - 86_400)
            campaign.$series.id = item.id
            campaign.$segment.id = item.$segment.id
            campaign.subjectFR = "\(item.name) — \(subjectFR)"
            campaign.subjectEN = "\(item.name) — \(subjectEN)"
            campaign.bodyFR = """
                Bonjour {{candidate.first_name}},

                Ce mois-ci : \(subjectFR.lowercased()). [Lire l'article](https://atelier-boreal.example/blog) ou [voir nos offres](\(config.publicURL)/careers).

                L'équipe {{company.name}}

                [Mes préférences]({{preferences_url}}) · [Me désinscrire]({{unsubscribe_url}})
                """
            campaign.bodyEN = """
                Hello {{candidate.first_name}},

                This time: \(subjectEN.lowercased()). [Read the article](https://atelier-boreal.example/blog) or [see our jobs](\(config.publicURL)/careers).

                The {{company.name}} team

                [My preferences]({{preferences_url}}) · [Unsubscribe]({{unsubscribe_url}})
                """
            campaign.trackOpens = true
            campaign.status = .sending
            campaign.scheduledAt = sentAt
            campaign.startedAt = sentAt
            try await campaign.create(on: db)
            let sender = CampaignSender(db: db, config: config, now: sentAt)
            try await sender.enqueue(campaign)
            let rows = try await OutboxMessage.query(on: db).filter(\.$campaignID == campaign.requireID()).all()
            for row in rows {
                row.status = .sent
                row.sentAt = sentAt + Double(random.int(1..<600))
                row.lastReply = "250 2.0.0 queued"
                try await row.save(on: db)
                let campaignID = try campaign.requireID(), outboxID = try row.requireID()
                if random.chance(55) {
                    try await CampaignEvent(
                        campaignID: campaignID, outboxID: outboxID, candidateID: row.$candidate.id, kind: .open,
                        at: sentAt + 3600
                    ).create(on: db)
                }
                if random.chance(18) {
                    try await CampaignEvent(
                        campaignID: campaignID, outboxID: outboxID, candidateID: row.$candidate.id, kind: .click,
                        linkPosition: random.int(1..<3), at: sentAt + 5400
                    ).create(on: db)
                }
            }
            campaign.status = .finished
            campaign.finishedAt = sentAt + 900
            try await campaign.save(on: db)
        }

        if let job = jobs.first(where: { $0.status == .open }) {
            let matches = try await JobMatch.propose(for: job, on: db, now: now, limit: 40)
            if !matches.isEmpty {
                let campaign = Campaign(
                    name: "Offre « \(job.title) » proposée au vivier", kind: .jobMatch, purpose: .talentPool, at: now)
                campaign.$job.id = job.id
                campaign.subjectFR = "{{job.title}} : une offre pour vous ?"
                campaign.subjectEN = "{{job.title}}: a job for you?"
                campaign.bodyFR =
                    "Bonjour {{candidate.first_name}},\n\nCette offre pourrait vous intéresser : **[{{job.title}}]({{job.url}})** — {{job.location}}.\n\nL'équipe {{company.name}}\n\n[Mes préférences]({{preferences_url}}) · [Me désinscrire]({{unsubscribe_url}})\n"
                campaign.bodyEN =
                    "Hello {{candidate.first_name}},\n\nThis job might interest you: **[{{job.title}}]({{job.url}})** — {{job.location}}.\n\nThe {{company.name}} team\n\n[My preferences]({{preferences_url}}) · [Unsubscribe]({{unsubscribe_url}})\n"
                try await campaign.create(on: db)
                try await matches.map {
                    CampaignTarget(
                        campaignID: campaign.id!, candidateID: $0.candidateID, score: $0.score, reasons: $0.reasons)
                }.create(on: db)
            }
        }
    }

    /// What a candidate invited to an interview receives to prepare, in both languages.
    static func prepResources(now: Date) -> [PrepResource] {
        [
            PrepResource(
                title: "Comment se passent nos entretiens", summary: "Déroulé, durée, personnes : pas de surprise",
                body: """
                    Un entretien chez Atelier Boréal dure **45 minutes** :

                    1. 10 minutes pour faire connaissance et vous présenter l'équipe ;
                    2. 25 minutes sur votre parcours et un cas concret tiré de notre quotidien ;
                    3. 10 minutes pour **vos** questions — venez avec les vôtres.

                    Pas de test surprise, pas de question piège. Une réponse vous est donnée sous 5 jours ouvrés.
                    """, url: "", stageKind: .interview, jobID: nil, language: "fr", at: now),
            PrepResource(
                title: "How our interviews work", summary: "Outline, length, people: no surprises",
                body: """
                    An interview at Atelier Boréal lasts **45 minutes**:

                    1. 10 minutes to get to know each other and meet the team;
                    2. 25 minutes on your background and a concrete case from our daily work;
                    3. 10 minutes for **your** questions — bring yours.

                    No surprise test, no trick question. You get an answer within 5 working days.
                    """, url: "", stageKind: .interview, jobID: nil, language: "en", at: now),
            PrepResource(
                title: "Venir à l'atelier", summary: "Plan d'accès, accueil, accessibilité", body: "",
                url: "https://atelier-boreal.example/acces", stageKind: .interview, jobID: nil, language: "fr",
                at: now),
        ]
    }

    /// Most applications stay early in the funnel, a few reach the end: 45% new, 25% screening, 15% interview...
    static func weightedStage(_ random: inout Generator) -> Int {
        let roll = random.int(0..<100)
        switch roll {
        case ..<45: return 0
        case ..<70: return 1
        case ..<85: return 2
        case ..<93: return 3
        case ..<97: return 4
        default: return 5
        }
    }
}

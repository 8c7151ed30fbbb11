import Fluent
import Vapor
import VivierAPI
import VivierCore

extension APIService {
    func listConsents(_ input: Operations.ListConsents.Input) async throws -> Operations.ListConsents.Output {
        let (req, _) = try context
        let person = try await findCandidate(input.path.candidateId, req)
        return .ok(.init(body: .json(try await consents(of: person.requireID(), on: req.db))))
    }

    func recordConsent(_ input: Operations.RecordConsent.Input) async throws -> Operations.RecordConsent.Output {
        let (req, _) = try context
        guard case .json(let body) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        let person = try await findCandidate(input.path.candidateId, req)
        let id = try person.requireID()
        let purpose = ConsentPurpose(rawValue: body.purpose.rawValue)!
        let language = Language(rawValue: body.locale?.rawValue ?? person.language) ?? .fr
        let now = req.now
        if body.action == .withdrawn {
            try await req.db.writeTransaction { db in
                try await ConsentLedger.record(
                    purpose, .withdrawn, for: id, channel: .api, language: language, on: db, now: now)
            }
        } else {
            let app = req.application
            try await req.db.writeTransaction { db in
                try await ConsentLedger.record(
                    purpose, .granted, for: id, channel: .api, language: language, on: db, now: now)
                // A newsletter needs the person's own confirmation by email before anything is sent.
                try await Newsletter.requestConfirmation(
                    of: [purpose], for: person, composer: Composer(db: db, app: app, now: now))
            }
        }
        return .created(.init(body: .json(try await consents(of: id, on: req.db))))
    }

    private func consents(of id: UUID, on db: any Database) async throws -> Components.Schemas.Consents {
        let state = try await ConsentLedger.state(of: id, on: db)
        let events = try await ConsentEvent.query(on: db).filter(\.$candidate.$id == id).sort(\.$createdAt).all()
        return .init(
            state: .init(
                talentPool: state[.talentPool] ?? false, newsletter: state[.newsletter] ?? false,
                jobAlerts: state[.jobAlerts] ?? false, partnerSharing: state[.partnerSharing] ?? false,
                smsReminders: state[.smsReminders] ?? false),
            events: events.map {
                .init(
                    purpose: .init(rawValue: $0.purpose.rawValue)!, action: .init(rawValue: $0.action.rawValue)!,
                    channel: .init(rawValue: $0.channel.rawValue)!, wordingVersion: $0.wordingVersion,
                    locale: $0.locale, at: $0.createdAt, seriesId: $0.seriesID?.api)
            })
    }

    func listTemplates(_ input: Operations.ListTemplates.Input) async throws -> Operations.ListTemplates.Output {
        let (req, _) = try context
        let composer = Composer(db: req.db, app: req.application, now: req.now)
        var templates: [Components.Schemas.Template] = []
        for kind in MessageKind.allCases {
            for language in Language.allCases {
                let (template, version) = try await composer.template(kind, language: language, jobID: nil)
                templates.append(
                    .init(
                        kind: kind.rawValue, language: .init(rawValue: language.rawValue)!, subject: template.subject,
                        body: template.body, customised: !version.hasSuffix("/default")))
            }
        }
        return .ok(.init(body: .json(.init(data: templates))))
    }

    func listCampaigns(_ input: Operations.ListCampaigns.Input) async throws -> Operations.ListCampaigns.Output {
        let (req, _) = try context
        let paging = try Paging(cursor: input.query.cursor, limit: input.query.limit, newestFirst: true)
        let (campaigns, next) = try paging.split(
            try await paging.apply(Campaign.query(on: req.db)).all(), date: \.createdAt)
        return .ok(.init(body: .json(.init(data: try campaigns.map(Self.campaign), nextCursor: next))))
    }

    func getCampaign(_ input: Operations.GetCampaign.Input) async throws -> Operations.GetCampaign.Output {
        let (req, _) = try context
        guard let campaign = try await Campaign.find(try Self.id(input.path.campaignId, "campaign"), on: req.db) else {
            throw Problem.notFound("campaign")
        }
        let report = try await CampaignReport.make(campaign, db: req.db, now: req.now)
        return .ok(
            .init(
                body: .json(
                    .init(
                        value1: try Self.campaign(campaign),
                        value2: .init(
                            report: .init(
                                recipients: report.recipients, delivered: report.delivered, bounced: report.bounced,
                                failed: report.failed, suppressed: report.suppressed, cancelled: report.cancelled,
                                pending: report.pending, uniqueClicks: report.uniqueClicks, clicks: report.clicks,
                                opens: report.opens, unsubscribes: report.unsubscribes, complaints: report.complaints)
                        )))))
    }

    static func campaign(_ campaign: Campaign) throws -> Components.Schemas.Campaign {
        .init(
            id: try campaign.requireID().api, name: campaign.name, kind: .init(rawValue: campaign.kind.rawValue)!,
            purpose: .init(rawValue: campaign.purpose.rawValue)!, status: .init(rawValue: campaign.status.rawValue)!,
            createdAt: campaign.createdAt, scheduledAt: campaign.scheduledAt, finishedAt: campaign.finishedAt,
            recipients: campaign.recipients)
    }

    func listSuppressions(_ input: Operations.ListSuppressions.Input) async throws
        -> Operations.ListSuppressions.Output
    {
        let (req, _) = try context
        let paging = try Paging(cursor: input.query.cursor, limit: input.query.limit)
        let (rows, next) = try paging.split(
            try await paging.apply(Suppression.query(on: req.db)).all(), date: \.createdAt)
        return .ok(.init(body: .json(.init(data: rows.map(Self.suppression), nextCursor: next))))
    }

    /// An objection received elsewhere: the person's marketing consents are withdrawn and the address is never
    /// mailed again, not even about an application.
    func addSuppression(_ input: Operations.AddSuppression.Input) async throws -> Operations.AddSuppression.Output {
        let (req, _) = try context
        guard case .json(let body) = input.body else { throw Problem(.unsupportedMediaType, nil) }
        var check = Validation()
        check.email(body.email.trimmed, "body.email")
        try check.check()
        let email = EmailAddress.normalize(body.email)
        if let person = try await Candidate.query(on: req.db).filter(\.$email == email).first() {
            try await Newsletter.unsubscribe(person, channel: .api, on: req.db, now: req.now)
        }
        let hash = Suppression.hash(email)
        let now = req.now
        let entry = try await req.db.writeTransaction { db -> Suppression in
            // An unsubscribe stopped marketing only; the objection stops everything.
            try await Suppression.query(on: db).filter(\.$addressHash == hash)
                .filter(\.$reason == Suppression.unsubscribeReason).delete()
            if let existing = try await Suppression.query(on: db).filter(\.$addressHash == hash).first() {
                return existing
            }
            let entry = Suppression(address: email, reason: "objection", at: now)
            try await entry.create(on: db)
            return entry
        }
        return .created(.init(body: .json(Self.suppression(entry))))
    }

    static func suppression(_ entry: Suppression) -> Components.Schemas.Suppression {
        .init(addressHash: entry.addressHash, reason: entry.reason, createdAt: entry.createdAt)
    }
}

import Fluent
import Vapor
import VivierCore

/// Joining the talent community without applying, confirming a subscription from one's mailbox, and leaving in
/// one click (RFC 8058).
struct CommunityController {
    static let offered: [ConsentPurpose] = [.newsletter, .jobAlerts, .talentPool]

    struct Box: Encodable {
        var name: String
        var text: String
        var checked: Bool
    }

    struct Content: Encodable {
        var values: [String: String]
        var errors: [String: String]
        var boxes: [Box]
        var hasErrors: Bool
    }

    @Sendable func form(req: Request) async throws -> Response {
        try await render(req, values: [:], errors: [:])
    }

    private func render(_ req: Request, values: [String: String], errors: [String: String], status: HTTPStatus = .ok)
        async throws -> Response
    {
        let wordings = try await ConsentWording.query(on: req.db).filter(\.$locale == req.language.rawValue).all()
        return try await req.page(
            "careers/community", title: req.t("community.title"), status: status,
            Content(
                values: values, errors: errors,
                boxes: Self.offered.map { purpose in
                    Box(
                        name: "consent_\(purpose.rawValue)",
                        text: wordings.filter { $0.purpose == purpose }.max { $0.version < $1.version }?.text ?? "",
                        checked: values["consent_\(purpose.rawValue)"] != nil)
                }, hasErrors: !errors.isEmpty))
    }

    struct Form: Vapor.Content {
        var first_name: String?
        var email: String?
        var consent_newsletter: String?
        var consent_job_alerts: String?
        var consent_talent_pool: String?
        var website: String?
    }

    /// Records the consents as given and sends the confirmation; the answer is the same whether the address was
    /// known, so the form says nothing about who applied.
    @Sendable func join(req: Request) async throws -> Response {
        let form = try req.content.decode(Form.self)
        if try await RateLimiter.application.isExceeded(key: req.clientAddress, on: req.db, now: req.now) {
            throw Abort(.tooManyRequests, reason: req.t("apply.rate_limited"))
        }
        var values = ["first_name": (form.first_name ?? "").trimmed, "email": (form.email ?? "").trimmed]
        let purposes = Self.offered.filter {
            switch $0 {
            case .newsletter: form.consent_newsletter != nil
            case .jobAlerts: form.consent_job_alerts != nil
            default: form.consent_talent_pool != nil
            }
        }
        for purpose in purposes { values["consent_\(purpose.rawValue)"] = "on" }
        var errors: [String: String] = [:]
        if values["first_name"]!.isEmpty || values["first_name"]!.count > 100 {
            errors["first_name"] = req.t("error.required")
        }
        if !EmailAddress.isValid(values["email"]!) { errors["email"] = req.t("error.email_invalid") }
        if purposes.isEmpty { errors["consents"] = req.t("community.error_choose") }
        guard errors.isEmpty else {
            return try await render(req, values: values, errors: errors, status: .unprocessableEntity)
        }
        try await RateLimiter.application.record(key: req.clientAddress, on: req.db, now: req.now)
        // A filled honeypot is a robot: thanked, nothing recorded.
        guard (form.website ?? "").isEmpty else {
            return try await req.page(
                "careers/community_thanks", title: req.t("community.thanks_title"), [String: String]())
        }
        let email = EmailAddress.normalize(values["email"]!), firstName = values["first_name"]!
        let language = req.language
        try await req.db.writeTransaction { db in
            let candidate: Candidate
            if let existing = try await Candidate.query(on: db).filter(\.$email == email)
                .filter(\.$mergedInto.$id == nil).first()
            {
                candidate = existing
            } else {
                candidate = Candidate(email: email, firstName: firstName, lastName: "", phone: "", language: language)
                candidate.createdAt = req.now
                candidate.lastActiveContactAt = req.now
                try await candidate.create(on: db)
            }
            let candidateID = try candidate.requireID()
            let state = try await ConsentLedger.state(of: candidateID, on: db)
            for purpose in purposes where state[purpose] != true {
                try await ConsentLedger.record(
                    purpose, .granted, for: candidateID, channel: .careerForm, language: language, on: db, now: req.now)
            }
            try await Newsletter.requestConfirmation(
                of: purposes, for: candidate, composer: Composer(db: db, app: req.application, now: req.now))
        }
        return try await req.page(
            "careers/community_thanks", title: req.t("community.thanks_title"), [String: String]())
    }

    // MARK: - Confirmation (double opt-in)

    struct ConfirmContent: Encodable {
        var action: String
        var purposes: String
    }

    private func confirmation(_ req: Request) async throws -> Result<(Candidate, [ConsentPurpose], String), LinkProblem>
    {
        let token = req.parameters.get("token") ?? ""
        switch try await SignedLink.openOnce(
            token, kind: "confirm", count: 3, secret: req.application.config.secret, now: req.now, on: req.db)
        {
        case .failure(let problem): return .failure(problem)
        case .success(let fields):
            let purposes = fields[2].split(separator: ",").compactMap { ConsentPurpose(rawValue: String($0)) }
            guard let id = UUID(uuidString: fields[1]), let candidate = try await Candidate.find(id, on: req.db),
                candidate.hasAddress, !purposes.isEmpty
            else { return .failure(.tampered) }
            return .success((candidate, purposes, token))
        }
    }

    @Sendable func confirmPage(req: Request) async throws -> Response {
        switch try await confirmation(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (_, purposes, token)):
            return try await req.page(
                "careers/confirm", title: req.t("confirm.title"),
                ConfirmContent(
                    action: SiteURL.confirm(token),
                    purposes: purposes.map { Newsletter.label($0, req.language) }.joined(separator: ", ")))
        }
    }

    @Sendable func confirm(req: Request) async throws -> Response {
        switch try await confirmation(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (candidate, purposes, token)):
            let candidateID = try candidate.requireID()
            let language = req.language
            do {
                try await req.db.transaction { db in
                    try await UsedToken(tokenHash: Tokens.hash(token), at: req.now).create(on: db)
                    for purpose in purposes {
                        try await ConsentLedger.record(
                            purpose, .confirmed, for: candidateID, channel: .emailLink, language: language, on: db,
                            now: req.now)
                    }
                    // A confirmed subscription lifts an earlier unsubscribe of this address.
                    try await Suppression.query(on: db).filter(\.$addressHash == Suppression.hash(candidate.email))
                        .filter(\.$reason == Suppression.unsubscribeReason).delete()
                }
            } catch let error as any DatabaseError where error.isConstraintFailure {
                return try await LinkProblem.page(.used, req)
            }
            return try await req.page(
                "careers/confirm_done", title: req.t("confirm.done_title"),
                ConfirmContent(
                    action: "", purposes: purposes.map { Newsletter.label($0, req.language) }.joined(separator: ", ")))
        }
    }

    // MARK: - One-click unsubscribe

    /// The person a link unsubscribes, and the campaign message it came in, if any (for the campaign's report).
    private func subscriber(_ req: Request) async throws -> Result<(Candidate, UUID?), LinkProblem> {
        switch SignedLink.open(req.parameters.get("token") ?? "", secret: req.application.config.secret, now: req.now) {
        case .failure(let failure): return .failure(failure == .expired ? .expired : .tampered)
        case .success(let fields):
            guard [2, 3].contains(fields.count), fields[0] == "unsub", let id = UUID(uuidString: fields[1]),
                let candidate = try await Candidate.find(id, on: req.db)
            else { return .failure(.tampered) }
            return .success((candidate, fields.count == 3 ? UUID(uuidString: fields[2]) : nil))
        }
    }

    /// A GET only shows the button: link checkers and previews must not unsubscribe anyone.
    @Sendable func unsubscribePage(req: Request) async throws -> Response {
        switch try await subscriber(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success:
            return try await req.page(
                "careers/unsubscribe", title: req.t("unsubscribe.title"),
                ConfirmContent(action: req.url.path, purposes: ""))
        }
    }

    /// RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`, without cookies or a form token; the page's own
    /// button posts the same. Either way the person is out at once.
    @Sendable func unsubscribe(req: Request) async throws -> Response {
        switch try await subscriber(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (candidate, outboxID)):
            if candidate.hasAddress {
                try await Newsletter.unsubscribe(
                    candidate, channel: .emailLink, purposes: [.newsletter, .jobAlerts], on: req.db, now: req.now)
            }
            if let outboxID, let message = try await OutboxMessage.find(outboxID, on: req.db),
                let campaignID = message.campaignID,
                try await CampaignEvent.query(on: req.db).filter(\.$outboxID == outboxID)
                    .filter(\.$kind == .unsubscribe).count() == 0
            {
                try await CampaignEvent(
                    campaignID: campaignID, outboxID: outboxID, candidateID: candidate.id, kind: .unsubscribe,
                    at: req.now
                ).create(on: req.db)
            }
            return try await req.page(
                "careers/unsubscribed", title: req.t("unsubscribe.done_title"), [String: String]())
        }
    }
}

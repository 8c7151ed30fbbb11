import Fluent
import Vapor
import VivierCore

/// The links in candidate emails that act without a login: consent opt-ins, preparation resources, the
/// satisfaction survey. A GET only shows a page, since mail scanners open links; the action is the POST of its
/// button, and works once.
struct EmailLinksController {
    // MARK: - Opt-ins (rejection email)

    struct OptInContent: Encodable {
        var purpose: String
        var label: String
        var wording: String
        var action: String
    }

    private func optIn(_ req: Request) async throws -> Result<(ConsentPurpose, Candidate, String), LinkProblem> {
        let token = req.parameters.get("token") ?? ""
        switch try await SignedLink.openOnce(
            token, kind: "optin", count: 3, secret: req.application.config.secret, now: req.now, on: req.db)
        {
        case .failure(let problem): return .failure(problem)
        case .success(let fields):
            guard let purpose = ConsentPurpose(rawValue: fields[1]), let id = UUID(uuidString: fields[2]),
                let candidate = try await Candidate.find(id, on: req.db), candidate.hasAddress
            else { return .failure(.tampered) }
            return .success((purpose, candidate, token))
        }
    }

    @Sendable func optInPage(req: Request) async throws -> Response {
        switch try await optIn(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (purpose, _, token)):
            let wording = try await ConsentWording.query(on: req.db).filter(\.$purpose == purpose)
                .filter(\.$locale == req.language.rawValue).sort(\.$version, .descending).first()
            return try await req.page(
                "portal/opt_in", title: req.t("optin.title"),
                OptInContent(
                    purpose: purpose.rawValue, label: req.t("consent.\(purpose.rawValue)"),
                    wording: wording?.text ?? "", action: SiteURL.optIn(token)))
        }
    }

    /// Records exactly one consent event: the used-token row and the event commit together, and a second POST
    /// of the same link meets the unique token and changes nothing.
    @Sendable func optInConfirm(req: Request) async throws -> Response {
        switch try await optIn(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (purpose, candidate, token)):
            let candidateID = try candidate.requireID()
            let language = req.language
            do {
                try await req.db.transaction { db in
                    try await UsedToken(tokenHash: Tokens.hash(token), at: req.now).create(on: db)
                    // The link came to the person's own mailbox: for the newsletter that is the double opt-in.
                    try await ConsentLedger.record(
                        purpose, Newsletter.doubleOptIn.contains(purpose) ? .confirmed : .granted, for: candidateID,
                        channel: .emailLink, language: language, on: db, now: req.now)
                }
            } catch let error as any DatabaseError where error.isConstraintFailure {
                return try await LinkProblem.page(.used, req)
            }
            return try await req.page(
                "portal/opt_in_done", title: req.t("optin.done_title"),
                OptInContent(
                    purpose: purpose.rawValue, label: req.t("consent.\(purpose.rawValue)"), wording: "", action: ""))
        }
    }

    // MARK: - Preparation resources

    struct ResourceContent: Encodable {
        var title: String
        var html: String
    }

    /// Notes the opening on the candidate's timeline, then shows the resource (or goes to its address).
    @Sendable func prepResource(req: Request) async throws -> Response {
        guard
            case .success(let fields) = SignedLink.open(
                req.parameters.get("token") ?? "", secret: req.application.config.secret, now: req.now),
            fields.count == 3, fields[0] == "prep", let resourceID = UUID(uuidString: fields[1]),
            let candidateID = UUID(uuidString: fields[2])
        else { return try await LinkProblem.page(LinkProblem.tampered, req) }
        guard let resource = try await PrepResource.find(resourceID, on: req.db) else { throw Abort(.notFound) }
        if try await Candidate.find(candidateID, on: req.db) != nil {
            try await Interaction(
                candidateID: candidateID, applicationID: nil, actorID: nil, kind: .resourceOpened,
                detail: resource.title, at: req.now
            ).create(on: req.db)
        }
        if !resource.url.isEmpty { return req.redirect(to: resource.url, redirectType: .normal) }
        return try await req.page(
            "portal/resource", title: resource.title,
            ResourceContent(title: resource.title, html: Markdown.html(resource.body)))
    }

    // MARK: - Satisfaction survey

    struct SurveyContent: Encodable {
        var action: String
        var scores: [Int]
        var error: String?
    }

    private func survey(_ req: Request) async throws -> Result<(UUID, UUID?, String), LinkProblem> {
        let token = req.parameters.get("token") ?? ""
        switch SignedLink.open(token, secret: req.application.config.secret, now: req.now) {
        case .failure(let failure): return .failure(failure == .expired ? .expired : .tampered)
        case .success(let fields):
            guard fields.count == 4, fields[0] == "survey", let applicationID = UUID(uuidString: fields[1]) else {
                return .failure(.tampered)
            }
            if try await SurveyAnswer.query(on: req.db).filter(\.$applicationHash == Survey.hash(applicationID))
                .count() > 0
            {
                return .failure(.used)
            }
            return .success((applicationID, UUID(uuidString: fields[2]), fields[3]))
        }
    }

    @Sendable func surveyForm(req: Request) async throws -> Response {
        switch try await survey(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success:
            return try await req.page(
                "portal/survey", title: req.t("survey.title"),
                SurveyContent(action: req.url.path, scores: Array(0...10), error: nil))
        }
    }

    struct SurveyForm: Content {
        var score: String?
        var comment: String?
    }

    @Sendable func surveyAnswer(req: Request) async throws -> Response {
        switch try await survey(req) {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let (applicationID, jobID, outcome)):
            let form = try req.content.decode(SurveyForm.self)
            let comment = (form.comment ?? "").trimmed
            guard let score = Int(form.score ?? ""), (0...10).contains(score), comment.count <= 2000 else {
                return try await req.page(
                    "portal/survey", title: req.t("survey.title"), status: .unprocessableEntity,
                    SurveyContent(
                        action: req.url.path, scores: Array(0...10),
                        error: req.t(comment.count > 2000 ? "error.too_long" : "survey.choose_score")))
            }
            let answer = SurveyAnswer()
            answer.createdAt = req.now
            answer.$job.id = try await jobID.asyncFlatMap { try await Job.find($0, on: req.db)?.id }
            answer.outcome = outcome
            answer.score = score
            answer.comment = comment
            answer.applicationHash = Survey.hash(applicationID)
            do {
                try await answer.create(on: req.db)
            } catch let error as any DatabaseError where error.isConstraintFailure {
                return try await LinkProblem.page(.used, req)
            }
            return try await req.page("portal/survey_done", title: req.t("survey.done_title"), [String: String]())
        }
    }
}

extension Optional {
    func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

import Fluent
import Vapor
import VivierCore
import VivierMail

/// The candidate portal: no password, a magic link from any message (or requested by email) opens a short
/// session. The candidate sees each application in plain words, the date they will hear back, interviews,
/// preparation resources, the messages received, and controls consents, withdrawal, export and erasure.
struct PortalController {
    static let cookie = "vivier_portal"
    static let sessionLength: TimeInterval = 2 * 3600

    // MARK: - Entering

    @Sendable func entry(req: Request) async throws -> Response {
        let token = req.parameters.get("token") ?? ""
        let candidateID: UUID
        if let link = try await PortalLink.query(on: req.db).filter(\.$tokenHash == Tokens.hash(token)).first(),
            link.expiresAt > req.now
        {
            candidateID = link.$candidate.id
        } else if case .success(let fields) = SignedLink.open(
            token, secret: req.application.config.secret, now: req.now),
            fields.count == 2, fields[0] == "enter", let id = UUID(uuidString: fields[1])
        {
            // The signed entry of bulk messages: no row per recipient of a 100,000-person campaign.
            candidateID = id
        } else {
            return try await LinkProblem.page(LinkProblem.expired, req)
        }
        try await Interaction(
            candidateID: candidateID, applicationID: nil, actorID: nil, kind: .portalVisit, detail: "", at: req.now
        ).create(on: req.db)
        try await Candidate.query(on: req.db).filter(\.$id == candidateID).set(\.$lastActiveContactAt, to: req.now)
            .update()
        let response = req.redirect(
            to: SiteURL.portal + (req.query[String.self, at: "to"] == "preferences" ? "#preferences" : ""))
        let value = SignedLink.make(
            ["portal", candidateID.lowercasedString], expires: req.now + Self.sessionLength,
            secret: req.application.config.secret)
        response.cookies[Self.cookie] = HTTPCookies.Value(
            string: value, maxAge: Int(Self.sessionLength), path: "/portal",
            isSecure: req.application.config.production, isHTTPOnly: true, sameSite: .lax)
        // The portal speaks the language of the candidate's messages, unless they chose another on this device.
        if req.cookies[LanguageMiddleware.cookie] == nil,
            let language = try await Candidate.find(candidateID, on: req.db)?.language
        {
            response.cookies[LanguageMiddleware.cookie] = HTTPCookies.Value(
                string: language, maxAge: 365 * 24 * 3600, path: "/", isSecure: req.application.config.production,
                isHTTPOnly: true, sameSite: .lax)
        }
        return response
    }

    struct LoginContent: Encodable {
        var email: String
        var sent: Bool
    }

    @Sendable func loginForm(req: Request) async throws -> Response {
        try await req.page("portal/login", title: req.t("portal.login_title"), LoginContent(email: "", sent: false))
    }

    struct LoginForm: Content {
        var email: String?
    }

    /// Sends a fresh link to the address if a candidate has it. The answer is the same either way, so the form
    /// does not reveal who applied (ASVS 6.3.8); it is rate-limited like the apply form.
    @Sendable func requestLink(req: Request) async throws -> Response {
        let email = (try req.content.decode(LoginForm.self).email ?? "").trimmed
        if try await RateLimiter.portalLink.isExceeded(key: req.clientAddress, on: req.db, now: req.now) {
            throw Abort(.tooManyRequests, reason: req.t("portal.rate_limited"))
        }
        try await RateLimiter.portalLink.record(key: req.clientAddress, on: req.db, now: req.now)
        if !email.isEmpty,
            let candidate = try await Candidate.query(on: req.db).filter(\.$email == EmailAddress.normalize(email))
                .filter(\.$mergedInto.$id == nil).first()
        {
            let minute = Int(req.now.timeIntervalSince1970 / 60)
            try await Composer(db: req.db, app: req.application, now: req.now).send(
                .portalLink, to: candidate, application: nil, job: nil,
                dedupeKey: "portal:\(try candidate.requireID().lowercasedString):\(minute)")
        }
        return try await req.page(
            "portal/login", title: req.t("portal.login_title"), LoginContent(email: email, sent: true))
    }

    @Sendable func logout(req: Request) async throws -> Response {
        let response = req.redirect(to: SiteURL.portalLogin, flash: "flash.portal_logged_out")
        response.cookies[Self.cookie] = HTTPCookies.Value(
            string: "", expires: Date(timeIntervalSince1970: 0), path: "/portal")
        return response
    }

    /// The candidate of the portal session, or nil.
    static func candidate(_ req: Request) async throws -> Candidate? {
        guard let value = req.cookies[cookie]?.string,
            case .success(let fields) = SignedLink.open(value, secret: req.application.config.secret, now: req.now),
            fields.count == 2, fields[0] == "portal", let id = UUID(uuidString: fields[1])
        else { return nil }
        return try await Candidate.find(id, on: req.db)
    }

    private func requireCandidate(_ req: Request) async throws -> Candidate {
        guard let candidate = try await Self.candidate(req), candidate.hasAddress else {
            throw Abort.redirect(to: SiteURL.portalLogin)
        }
        return candidate
    }

    // MARK: - The page

    struct ApplicationRow: Encodable {
        var id: String
        var title: String
        var status: String
        var active: Bool
        var nextStep: String?
        var hearBy: String?
        var appliedOn: String
        var interviews: [InterviewRow]
    }

    struct InterviewRow: Encodable {
        var when: String
        /// Absent rather than empty, so the page leaves out what the recruiter did not give.
        var place: String?
        var video: String?
        var with: String?
        var calendarURL: String
    }

    struct LinkRow: Encodable {
        var title: String
        var summary: String?
        var url: String
    }

    struct MessageRow: Encodable {
        var subject: String
        var date: String
    }

    struct ConsentRow: Encodable {
        var purpose: String
        var label: String
        var wording: String
        var granted: Bool
    }

    struct PortalContent: Encodable {
        var name: String
        var email: String
        var applications: [ApplicationRow]
        var resources: [LinkRow]
        var messages: [MessageRow]
        var consents: [ConsentRow]
        /// Each newsletter series, to keep or leave one by one.
        var series: [Choice]
        var hasSeries: Bool
        var languages: [Choice]
        var rhythms: [Choice]
        // Leaf treats an empty list as true: the page asks these instead.
        var hasApplications: Bool
        var hasResources: Bool
        var hasMessages: Bool
    }

    @Sendable func show(req: Request) async throws -> Response {
        let candidate = try await requireCandidate(req)
        let candidateID = try candidate.requireID()
        let language = req.language
        let composer = Composer(db: req.db, app: req.application, now: req.now)
        let applications = try await JobApplication.query(on: req.db).filter(\.$candidate.$id == candidateID)
            .with(\.$job).with(\.$stage).sort(\.$createdAt, .descending).all()

        var rows: [ApplicationRow] = []
        var resources: [LinkRow] = []
        for application in applications {
            let applicationID = try application.requireID()
            let stages: [Stage] =
                if let jobID = application.$job.id {
                    try await Stage.query(on: req.db).filter(\.$job.$id == jobID).sort(\.$position).all()
                } else { [] }
            let next = stages.first { $0.position > (application.stage?.position ?? -1) && $0.kind != .hired }
            let interviews = try await Interview.query(on: req.db).filter(\.$application.$id == applicationID)
                .filter(\.$status == .scheduled).filter(\.$startsAt > req.now).sort(\.$startsAt).all()
            let active = application.outcome == .active
            rows.append(
                ApplicationRow(
                    id: applicationID.lowercasedString,
                    title: application.job?.title ?? req.t("candidate.spontaneous"),
                    status: req.t(Self.statusKey(application)), active: active,
                    nextStep: active ? next?.name(in: language) : nil,
                    hearBy: active ? Dates.day(Self.hearBy(application), language) : nil,
                    appliedOn: Dates.day(application.createdAt ?? req.now, language),
                    interviews: try interviews.map { interview in
                        let zone = TimeZone(identifier: interview.timeZone) ?? Dates.zone
                        return InterviewRow(
                            when: interview.startsAt.formatted(
                                Date.FormatStyle(
                                    date: .complete, time: .shortened, locale: language.locale, timeZone: zone))
                                + " (\(zone.identifier))",
                            place: interview.location.nonEmpty, video: interview.videoURL.nonEmpty,
                            with: interview.interviewers.nonEmpty,
                            calendarURL: SiteURL.portal
                                + "/interviews/\(try interview.requireID().lowercasedString).ics")
                    }))
            if active && !interviews.isEmpty {
                for resource in try await Invitation.prepPack(
                    for: application, candidate: candidate, language: language, composer: composer)
                where !resources.contains(where: { $0.url == resource["url"] }) {
                    resources.append(
                        LinkRow(
                            title: resource["title"] ?? "", summary: resource["summary"]?.nonEmpty,
                            url: resource["url"] ?? ""))
                }
            }
        }
        let messages = try await OutboxMessage.query(on: req.db).filter(\.$candidate.$id == candidateID)
            .filter(\.$status == .sent).sort(\.$createdAt, .descending).limit(50).all()
        let state = try await ConsentLedger.state(of: candidateID, on: req.db)
        let wordings = try await ConsentWording.query(on: req.db).filter(\.$locale == language.rawValue).all()
        let allSeries = try await NewsletterSeries.query(on: req.db).sort(\.$name).all()
        let receives = try await ConsentLedger.newsletters(
            of: candidateID, series: allSeries.compactMap(\.id), on: req.db)
        let series = try allSeries.map { item in
            Choice(
                value: try item.requireID().lowercasedString,
                label: item.summary.isEmpty ? item.name : "\(item.name) — \(item.summary)",
                selected: receives[try item.requireID()] ?? false)
        }
        return try await req.page(
            "portal/home", title: req.t("portal.title"),
            PortalContent(
                name: candidate.firstName, email: candidate.email, applications: rows, resources: resources,
                messages: messages.map {
                    MessageRow(subject: $0.subject, date: Dates.day($0.sentAt ?? $0.createdAt ?? req.now, language))
                },
                consents: ConsentPurpose.allCases.map { purpose in
                    ConsentRow(
                        purpose: purpose.rawValue, label: req.t("consent.\(purpose.rawValue)"),
                        wording: wordings.filter { $0.purpose == purpose }.max { $0.version < $1.version }?.text ?? "",
                        granted: state[purpose] ?? false)
                },
                series: series, hasSeries: !series.isEmpty,
                languages: Language.allCases.map {
                    Choice(
                        value: $0.rawValue, label: req.t("language.\($0.rawValue)"),
                        selected: candidate.language == $0.rawValue)
                },
                rhythms: ["biweekly", "monthly"].map {
                    Choice(value: $0, label: req.t("portal.rhythm_\($0)"), selected: candidate.newsletterRhythm == $0)
                }, hasApplications: !rows.isEmpty, hasResources: !resources.isEmpty,
                hasMessages: !messages.isEmpty))
    }

    /// The words a candidate reads for where an application stands.
    static func statusKey(_ application: JobApplication) -> String {
        switch application.outcome {
        case .active: "portal.status.\(application.stage?.kind.rawValue ?? "new")"
        default: "portal.status.\(application.outcome.rawValue)"
        }
    }

    /// The date the candidate hears back by: the promise of the acknowledgement, else the decision deadline.
    static func hearBy(_ application: JobApplication) -> Date {
        application.promisedBy ?? Decisions.deadline(of: application, targetDays: application.job?.responseTargetDays)
    }

    // MARK: - Actions

    @Sendable func calendar(req: Request) async throws -> Response {
        let candidate = try await requireCandidate(req)
        let raw = (req.parameters.get("file") ?? "").replacingOccurrences(of: ".ics", with: "")
        guard let id = UUID(uuidString: raw), let interview = try await Interview.find(id, on: req.db),
            try await interview.$application.get(on: req.db).$candidate.id == candidate.id
        else { throw Abort(.notFound) }
        let company = try await Company.load(on: req.db)
        let job = try await interview.application.$job.get(on: req.db)
        let event = ICalendarEvent(
            method: .publish, uid: interview.uid, sequence: interview.sequence, start: interview.startsAt,
            end: interview.endsAt, timeZone: TimeZone(identifier: interview.timeZone),
            summary: "\(req.t("portal.interview")) — \(job?.title ?? company.name)",
            description: [interview.location, interview.videoURL, interview.interviewers].filter { !$0.isEmpty }
                .joined(separator: "\n"),
            location: interview.location.isEmpty ? nil : interview.location,
            url: interview.videoURL.isEmpty ? nil : interview.videoURL,
            organizer: .init(name: company.name, email: req.application.config.mail.from.address), attendees: [],
            stamp: req.now)
        let response = Response(status: .ok, body: .init(string: try event.render()))
        response.headers.contentType = HTTPMediaType(
            type: "text", subType: "calendar", parameters: ["charset": "utf-8"])
        response.headers.contentDisposition = .init(.attachment, filename: "interview.ics")
        return response
    }

    struct ConsentForm: Content {
        var purposes: [String]?
        var language: String?
        var rhythm: String?
        var series: [String]?
    }

    /// Saves the consent toggles: one event per purpose that changed, none for those that did not.
    @Sendable func saveConsents(req: Request) async throws -> Response {
        let candidate = try await requireCandidate(req)
        let candidateID = try candidate.requireID()
        let form = try req.content.decode(ConsentForm.self)
        let wanted = Set((form.purposes ?? []).compactMap(ConsentPurpose.init))
        let language = req.language
        // The language of the messages the person receives.
        if let chosen = form.language.flatMap(Language.init(rawValue:)) { candidate.language = chosen.rawValue }
        if let rhythm = form.rhythm, ["biweekly", "monthly"].contains(rhythm) { candidate.newsletterRhythm = rhythm }
        if candidate.hasChanges { try await candidate.save(on: req.db) }
        try await req.db.transaction { db in
            let state = try await ConsentLedger.state(of: candidateID, on: db)
            for purpose in ConsentPurpose.allCases where (state[purpose] ?? false) != wanted.contains(purpose) {
                // The portal is reached through a link sent to the person's mailbox: a subscription there is
                // already confirmed.
                let given: ConsentAction = Newsletter.doubleOptIn.contains(purpose) ? .confirmed : .granted
                try await ConsentLedger.record(
                    purpose, wanted.contains(purpose) ? given : .withdrawn, for: candidateID, channel: .portal,
                    language: language, on: db, now: req.now)
            }
            // With the newsletter kept, each series the person unticks (or ticks again) is its own event.
            guard wanted.contains(.newsletter) else { return }
            let keep = Set((form.series ?? []).compactMap(UUID.init(uuidString:)))
            let series = try await NewsletterSeries.query(on: db).all().compactMap(\.id)
            let receives = try await ConsentLedger.newsletters(of: candidateID, series: series, on: db)
            for id in series {
                let current = receives[id] ?? false
                if current != keep.contains(id) {
                    try await ConsentLedger.record(
                        .newsletter, keep.contains(id) ? .confirmed : .withdrawn, for: candidateID, channel: .portal,
                        language: language, series: id, on: db, now: req.now)
                }
            }
        }
        return req.redirect(to: SiteURL.portal + "#preferences", flash: "flash.preferences_saved")
    }

    /// Objection: every consent withdrawn and the address kept off all marketing, in one click.
    @Sendable func unsubscribeAll(req: Request) async throws -> Response {
        let candidate = try await requireCandidate(req)
        try await Newsletter.unsubscribe(candidate, channel: .portal, on: req.db, now: req.now)
        return req.redirect(to: SiteURL.portal + "#preferences", flash: "flash.unsubscribed_all")
    }

    /// The candidate withdraws an application; the recruiters see it on the board and the timeline.
    @Sendable func withdraw(req: Request) async throws -> Response {
        let candidate = try await requireCandidate(req)
        guard let id = req.uuidParameter("id"), let application = try await JobApplication.find(id, on: req.db),
            application.$candidate.id == candidate.id
        else { throw Abort(.notFound) }
        guard application.outcome == .active else { throw Abort(.conflict, reason: req.t("error.application_closed")) }
        try await req.db.transaction { db in
            try await PipelineController.close(
                application, outcome: .withdrawn, decision: (.candidateWithdrew, "", 0), notify: false, by: nil,
                composer: Composer(db: db, app: req.application, now: req.now))
        }
        return req.redirect(to: SiteURL.portal, flash: "flash.application_withdrawn")
    }

    /// A copy of everything, after the person proves again they hold the address: the link goes by email, works
    /// once and for 24 hours, so a left-open session is not enough to take someone's file.
    @Sendable func requestExport(req: Request) async throws -> Response {
        let candidate = try await requireCandidate(req)
        let candidateID = try candidate.requireID()
        let token = SignedLink.make(
            ["export", candidateID.lowercasedString], expires: req.now + 86_400,
            secret: req.application.config.secret)
        try await Composer(db: req.db, app: req.application, now: req.now).send(
            .dataExport, to: candidate, application: nil, job: nil,
            extra: ["export_url": req.application.config.publicURL + SiteURL.portalExport(token)],
            dedupeKey: "export:\(candidateID.lowercasedString):\(Int(req.now.timeIntervalSince1970))")
        return req.redirect(to: SiteURL.portal + "#data", flash: "flash.export_sent")
    }

    /// The archive, from the emailed link.
    @Sendable func downloadExport(req: Request) async throws -> Response {
        let token = req.parameters.get("token") ?? ""
        switch try await SignedLink.openOnce(
            token, kind: "export", count: 2, secret: req.application.config.secret, now: req.now, on: req.db)
        {
        case .failure(let problem): return try await LinkProblem.page(problem, req)
        case .success(let fields):
            guard let id = UUID(uuidString: fields[1]), let candidate = try await Candidate.find(id, on: req.db),
                candidate.erasedAt == nil
            else { return try await LinkProblem.page(.tampered, req) }
            let zip = try await PersonalData.archive(
                of: id, db: req.db, blobs: req.application.blobs, now: req.now)
            try await req.db.transaction { db in
                try await UsedToken(tokenHash: Tokens.hash(token), at: req.now).create(on: db)
                try await Interaction(
                    candidateID: id, applicationID: nil, actorID: nil, kind: .exported, detail: "portal", at: req.now
                ).create(on: db)
            }
            try await req.audit(.candidateExported, target: "candidate:\(id.lowercasedString)", label: "portal")
            return PersonalData.download(zip, name: "vivier-my-data.zip")
        }
    }

    /// Erasure at the person's request, at once: nothing of theirs stays but what the statistics need, and a hash
    /// of their address so that nobody writes to them again.
    @Sendable func erase(req: Request) async throws -> Response {
        let candidate = try await requireCandidate(req)
        try await PersonalData.erase(
            try candidate.requireID(), actor: nil, channel: .portal, app: req.application, db: req.db, now: req.now)
        try await req.audit(
            .candidateErased, target: "candidate:\(try candidate.requireID().lowercasedString)", label: "portal")
        let response = try await req.page("portal/erased", title: req.t("portal.erased_title"), [String: String]())
        response.cookies[Self.cookie] = HTTPCookies.Value(
            string: "", expires: Date(timeIntervalSince1970: 0), path: "/portal")
        return response
    }
}

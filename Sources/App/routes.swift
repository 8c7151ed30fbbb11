import OpenAPIVapor
import Vapor

/// The route table, by area.
func routes(_ app: Application) throws {
    app.get("healthz") { req async throws -> Response in
        try await req.db.sql().raw("SELECT 1").run()
        return Response(status: .ok, body: .init(string: "ok\n"))
    }
    // Liveness: the process answers, whatever the database does (for a supervisor; /healthz is readiness).
    app.get("livez") { _ in "ok\n" }
    app.get { req in req.redirect(to: SiteURL.careers) }
    // Prometheus: open to this machine, or to a scraper presenting VIVIER_METRICS_TOKEN.
    app.get("metrics") { req async throws -> Response in
        let token = req.application.config.metricsToken
        let local = ["127.0.0.1", "::1"].contains(req.remoteAddress?.ipAddress ?? "")
        let presented = req.headers.bearerAuthorization?.token
        guard (token == nil && local) || (token != nil && presented.map { Tokens.equal($0, token!) } == true) else {
            throw Abort(.notFound)
        }
        let response = Response(
            status: .ok, body: .init(string: try await req.application.metrics.render(db: req.db, now: req.now)))
        response.headers.replaceOrAdd(name: .contentType, value: "text/plain; version=0.0.4; charset=utf-8")
        return response
    }

    do {  // the API: a token instead of a session, problem+json instead of pages; no CSRF token (no cookie)
        let reference = APIReferenceController()
        app.get("api", "v1", "openapi.yaml", use: reference.spec)
        app.get("api", "v1", use: reference.page)
        let transport = VaporTransport(routesBuilder: app.grouped(APIMiddleware()))
        try APIService().registerHandlers(
            on: transport, serverURL: URL(string: "/api/v1")!, configuration: .init(dateTranscoder: APIDates()))
    }

    let forms = app.grouped(CSRFMiddleware(maxBody: 1 << 20))

    let brand = BrandController()
    app.get("brand", "theme.css", use: brand.theme)
    app.get("brand", "logo", ":key", use: brand.logo)

    // Campaign click counter and open pixel: fetched by mail clients and proxies, no session.
    let tracking = TrackingController()
    app.get("c", ":token", use: tracking.click)
    app.get("o", ":token", use: tracking.open)

    // One-click unsubscribe (RFC 8058): mail clients post it without a cookie or a form token.
    let community = CommunityController()
    app.on(.POST, "unsubscribe", ":token", body: .collect(maxSize: "16kb"), use: community.unsubscribe)

    // Replies to text messages, posted by the SMS provider: no session, no CSRF token; the secret is in the path.
    app.on(.POST, "sms", "inbound", ":key", body: .collect(maxSize: "64kb"), use: SMSController().inbound)

    do {  // careers
        let careers = CareersController()
        let uploads = app.grouped(CSRFMiddleware(maxBody: Application.maxUploadBody))
        forms.get("careers", use: careers.list)
        app.get("careers", "feed.rss", use: careers.rss)
        app.get("careers", "feed.xml", use: careers.boardFeed)
        forms.get("careers", "thanks", use: careers.thanks)
        forms.get("careers", "apply", use: careers.applyForm)
        uploads.on(
            .POST, "careers", "apply", body: .collect(maxSize: ByteCount(value: Application.maxUploadBody)),
            use: careers.apply)
        forms.get("careers", ":slug", use: careers.show)
        forms.get("careers", ":slug", "apply", use: careers.applyForm)
        uploads.on(
            .POST, "careers", ":slug", "apply", body: .collect(maxSize: ByteCount(value: Application.maxUploadBody)),
            use: careers.apply)
    }

    do {  // candidate portal and the links of candidate emails
        let portal = PortalController()
        forms.get("portal", "login", use: portal.loginForm)
        forms.post("portal", "login", use: portal.requestLink)
        forms.get("portal", "t", ":token", use: portal.entry)
        forms.get("portal", use: portal.show)
        forms.post("portal", "logout", use: portal.logout)
        forms.get("portal", "interviews", ":file", use: portal.calendar)
        forms.post("portal", "consents", use: portal.saveConsents)
        forms.post("portal", "unsubscribe-all", use: portal.unsubscribeAll)
        forms.post("portal", "applications", ":id", "withdraw", use: portal.withdraw)
        forms.post("portal", "export", use: portal.requestExport)
        forms.get("portal", "export", ":token", use: portal.downloadExport)
        forms.post("portal", "erase", use: portal.erase)

        forms.get("talent-community", use: community.form)
        forms.post("talent-community", use: community.join)
        forms.get("confirm", ":token", use: community.confirmPage)
        forms.post("confirm", ":token", use: community.confirm)
        forms.get("unsubscribe", ":token", use: community.unsubscribePage)

        let links = EmailLinksController()
        forms.get("consent", ":token", use: links.optInPage)
        forms.post("consent", ":token", use: links.optInConfirm)
        forms.get("prep", ":token", use: links.prepResource)
        let retention = RetentionController()
        forms.get("keep", ":token", use: retention.keepPage)
        forms.post("keep", ":token", use: retention.keep)
        forms.get("survey", ":token", use: links.surveyForm)
        forms.post("survey", ":token", use: links.surveyAnswer)
    }

    do {  // sign in, first admin
        let auth = AuthController()
        forms.get("login", use: auth.loginForm)
        forms.post("login", use: auth.login)
        forms.get("login", "code", use: auth.codeForm)
        forms.post("login", "code", use: auth.code)
        forms.get("login", "forgot", use: auth.forgotForm)
        forms.post("login", "forgot", use: auth.forgot)
        forms.get("login", "reset", ":token", use: auth.resetForm)
        forms.post("login", "reset", ":token", use: auth.reset)
        forms.post("logout", use: auth.logout)
        forms.get("setup", ":token", use: auth.setupForm)
        forms.post("setup", ":token", use: auth.setup)
    }

    let backOffice = forms.grouped("app").grouped(RequireUser())
    let managers = backOffice.grouped(RequireRole.manager)
    let admins = backOffice.grouped(RequireRole.admin)

    do {  // recruiter UI
        backOffice.get(use: DashboardController().show)
        let indicators = IndicatorsController()
        backOffice.get("indicators", use: indicators.show)
        backOffice.get("indicators.csv", use: indicators.show)

        let jobs = JobsController()
        backOffice.get("jobs", use: jobs.list)
        managers.get("jobs", "new", use: jobs.new)
        managers.post("jobs", use: jobs.create)
        managers.get("jobs", ":id", "edit", use: jobs.edit)
        managers.post("jobs", ":id", use: jobs.update)
        managers.post("jobs", ":id", "status", use: jobs.setStatus)

        let pipeline = PipelineController()
        backOffice.get("jobs", ":id", "board", use: pipeline.board)
        backOffice.post("applications", ":id", "move", use: pipeline.move)
        managers.post("applications", ":id", "reject", use: pipeline.reject)
        managers.post("applications", ":id", "withdraw", use: pipeline.withdraw)
        managers.post("applications", ":id", "reopen", use: pipeline.reopen)
        managers.post("jobs", ":id", "reject", use: pipeline.bulkReject)
        backOffice.get("waiting", use: PrepController().waiting)

        let interviews = InterviewController()
        backOffice.post("applications", ":id", "interviews", use: interviews.schedule)
        backOffice.post("interviews", ":id", use: interviews.reschedule)
        backOffice.post("interviews", ":id", "cancel", use: interviews.cancel)
        backOffice.post("interviews", ":id", "no-show", use: interviews.noShow)

        let candidates = CandidatesController()
        backOffice.get("candidates", use: candidates.list)
        backOffice.get("candidates", ":id", use: candidates.show)
        backOffice.post("candidates", ":id", "notes", use: candidates.addNote)
        backOffice.post("candidates", ":id", "tags", use: candidates.addTag)
        backOffice.post("candidates", ":id", "tags", ":tagID", "delete", use: candidates.removeTag)
        managers.post("candidates", ":id", "merge", use: candidates.merge)
        managers.get("candidates.csv", use: candidates.exportCSV)
        managers.get("candidates", ":id", "export", use: candidates.export)
        admins.post("candidates", ":id", "erase", use: candidates.erase)
        backOffice.get("documents", ":id", use: candidates.document)
    }

    do {  // mail: the queue and the local mailbox
        let mail = MailController()
        managers.get("outbox", use: mail.outbox)
        admins.post("outbox", "test", use: mail.sendTest)
        admins.post("outbox", ":id", "retry", use: mail.retry)
        admins.post("outbox", ":id", "cancel", use: mail.cancel)
        managers.get("mailbox", use: mail.mailbox)
        managers.get("mailbox", ":name", use: mail.mailboxMessage)
        managers.get("mailbox", ":name", "html", use: mail.mailboxHTML)
    }

    do {  // what candidates receive: templates and preparation resources
        let templates = TemplatesController()
        managers.get("templates", use: templates.list)
        managers.get("templates", ":kind", ":language", use: templates.edit)
        managers.post("templates", ":kind", ":language", use: templates.save)
        let prep = PrepController()
        managers.get("prep", use: prep.list)
        managers.post("prep", use: prep.create)
        managers.post("prep", ":id", "delete", use: prep.delete)
        let partners = PartnersController()
        managers.get("partners", use: partners.list)
        managers.post("partners", use: partners.create)
        managers.post("partners", ":id", "toggle", use: partners.toggle)
        managers.post("candidates", ":id", "forward", use: partners.forward)
        backOffice.post("candidates", ":id", "sms", use: SMSController().send)
    }

    do {  // talent pool: segments, newsletters, campaigns
        let segments = SegmentsController()
        managers.get("segments", use: segments.list)
        managers.get("segments", "new", use: segments.new)
        managers.post("segments", use: segments.create)
        managers.post("segments", "preview", use: segments.previewFragment)
        managers.get("segments", ":id", use: segments.edit)
        managers.post("segments", ":id", use: segments.update)
        managers.post("segments", ":id", "delete", use: segments.delete)
        let newsletters = NewslettersController()
        managers.get("newsletters", use: newsletters.list)
        managers.post("newsletters", use: newsletters.create)
        managers.get("newsletters", ":id", use: newsletters.show)
        managers.post("newsletters", ":id", use: newsletters.update)
        let campaigns = CampaignsController()
        managers.get("campaigns", use: campaigns.list)
        managers.post("campaigns", use: campaigns.create)
        managers.get("campaigns", ":id", use: campaigns.show)
        managers.post("campaigns", ":id", use: campaigns.save)
        managers.get("campaigns", ":id", "progress", use: campaigns.progress)
        managers.post("campaigns", ":id", "pause", use: campaigns.pause)
        managers.post("campaigns", ":id", "resume", use: campaigns.resume)
        managers.post("campaigns", ":id", "cancel", use: campaigns.cancel)
        let match = JobMatchController()
        managers.get("jobs", ":id", "match", use: match.show)
        managers.post("jobs", ":id", "match", use: match.draft)
    }

    do {  // administration
        let admin = AdminController()
        admins.get("users", use: admin.users)
        admins.post("users", use: admin.createUser)
        admins.post("users", ":id", use: admin.updateUser)
        admins.get("pipeline", use: admin.pipeline)
        admins.post("pipeline", use: admin.savePipeline)
        admins.get("company", use: admin.company)
        admins.post("company", use: admin.saveCompany)
        admins.get("audit", use: AuditController().list)
        let tokens = ApiTokensController()
        admins.get("api-tokens", use: tokens.list)
        admins.post("api-tokens", use: tokens.create)
        admins.post("api-tokens", ":id", "revoke", use: tokens.revoke)
        let imports = ImportsController()
        let bigUploads = app.grouped(CSRFMiddleware(maxBody: ImportsController.maxFile)).grouped("app")
            .grouped(RequireUser()).grouped(RequireRole.admin)
        admins.get("imports", use: imports.list)
        bigUploads.on(
            .POST, "imports", body: .collect(maxSize: ByteCount(value: ImportsController.maxFile)), use: imports.upload)
        admins.get("imports", ":id", use: imports.show)
        admins.get("imports", ":id", "progress", use: imports.progress)
        admins.post("imports", ":id", "mapping", use: imports.saveMapping)
        admins.post("imports", ":id", "start", use: imports.start)
        admins.post("imports", ":id", "cancel", use: imports.cancel)
        let webhooks = WebhooksController()
        admins.get("webhooks", use: webhooks.list)
        admins.post("webhooks", use: webhooks.create)
        admins.get("webhooks", ":id", use: webhooks.show)
        admins.post("webhooks", ":id", "toggle", use: webhooks.toggle)
        admins.post("webhooks", ":id", "test", use: webhooks.test)
        admins.post("webhooks", ":id", "deliveries", ":delivery", "retry", use: webhooks.retry)
        admins.get("retention", use: RetentionController().show)
        admins.post("retention", use: RetentionController().save)
        let security = SecurityController()
        backOffice.get("security", use: security.show)
        backOffice.post("security", "totp", use: security.enable)
        backOffice.post("security", "recovery", use: security.recoveryCodes)
        backOffice.post("security", "totp", "disable", use: security.disable)
        backOffice.post("security", "password", use: security.changePassword)
        admins.on(.POST, "company", "logo", body: .collect(maxSize: "1mb"), use: admin.saveLogo)
        admins.post("company", "logo", "delete", use: admin.deleteLogo)
    }
}

extension Application {
    /// A CV of 10 MB plus the form around it; anything larger is refused with 413 before it is read.
    static let maxUploadBody = 11 * 1024 * 1024
}

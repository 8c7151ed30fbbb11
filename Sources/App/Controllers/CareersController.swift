import Fluent
import Vapor
import VivierCore

/// The public career site: open jobs, a page per job, the apply form. No login, French and English.
struct CareersController {
    struct JobCard: Encodable {
        var title: String
        var url: String
        var department: String
        var location: String
        var contract: String
        var remote: String
    }

    struct ListContent: Encodable {
        var company: String
        var jobs: [JobCard]
        var departments: [Choice]
        var locations: [Choice]
        var contracts: [Choice]
        var filtered: Bool
        var hasJobs: Bool
    }

    @Sendable func list(req: Request) async throws -> Response {
        let open = try await Job.query(on: req.db).filter(\.$status == .open).sort(\.$publishedAt, .descending).all()
        let department = req.query[String.self, at: "department"] ?? ""
        let location = req.query[String.self, at: "location"] ?? ""
        let contract = req.query[String.self, at: "contract"] ?? ""
        let shown = open.filter { job in
            (department.isEmpty || job.department == department) && (location.isEmpty || job.location == location)
                && (contract.isEmpty || job.contractType.rawValue == contract)
        }
        func options(_ values: [String], selected: String, label: (String) -> String = { $0 }) -> [Choice] {
            Set(values).sorted().map { Choice(value: $0, label: label($0), selected: $0 == selected) }
        }
        let company = try await Company.load(on: req.db)
        let content = ListContent(
            company: company.name, jobs: shown.map { card($0, req) },
            departments: options(open.map(\.department), selected: department),
            locations: options(open.map(\.location), selected: location),
            contracts: options(open.map(\.contractType.rawValue), selected: contract) { req.t("contract.\($0)") },
            filtered: !(department.isEmpty && location.isEmpty && contract.isEmpty), hasJobs: !shown.isEmpty)
        return try await req.page("careers/list", title: "\(req.t("careers.title")) · \(company.name)", content)
    }

    struct JobContent: Encodable {
        var company: String
        var job: JobCard
        var descriptionHTML: String
        var applyURL: String
        var jsonLD: String
        var published: String
    }

    @Sendable func show(req: Request) async throws -> Response {
        let job = try await openJob(req)
        let company = try await Company.load(on: req.db)
        let content = JobContent(
            company: company.name, job: card(job, req), descriptionHTML: Markdown.html(job.description),
            applyURL: SiteURL.apply(job.slug),
            jsonLD: JobPostingLD.json(job: job, company: company, baseURL: req.application.config.publicURL),
            published: Dates.day(job.publishedAt ?? job.createdAt ?? req.now, req.language))
        return try await req.page("careers/job", title: "\(job.title) · \(company.name)", content)
    }

    // MARK: - Feeds

    private func openJobs(_ req: Request) async throws -> [Job] {
        try await Job.query(on: req.db).filter(\.$status == .open).sort(\.$publishedAt, .descending).all()
    }

    private func xml(_ body: String, subType: String) -> Response {
        let response = Response(status: .ok, body: .init(string: body))
        response.headers.replaceOrAdd(name: .contentType, value: "application/\(subType); charset=utf-8")
        response.headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=300")
        return response
    }

    @Sendable func rss(req: Request) async throws -> Response {
        xml(
            JobFeeds.rss(
                jobs: try await openJobs(req), company: try await Company.load(on: req.db),
                baseURL: req.application.config.publicURL, language: req.application.config.defaultLanguage,
                now: req.now), subType: "rss+xml")
    }

    @Sendable func boardFeed(req: Request) async throws -> Response {
        let board = req.query[String.self, at: "board"] ?? "job_board"
        guard (1...40).contains(board.count),
            board.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else { throw Abort(.badRequest, reason: "board must be letters, digits, - or _ (at most 40)") }
        return xml(
            JobFeeds.boards(
                jobs: try await openJobs(req), company: try await Company.load(on: req.db),
                baseURL: req.application.config.publicURL, board: board, now: req.now), subType: "xml")
    }

    // MARK: - Applying

    struct ApplyContent: Encodable {
        var company: String
        var job: JobCard?
        var action: String
        var submission: String
        var source: String
        var values: [String: String]
        var errors: [String: String]
        var consents: [ConsentBox]
        var maxMB: Int
        var hasErrors: Bool
    }

    struct ConsentBox: Encodable {
        var name: String
        var text: String
        var checked: Bool
    }

    struct ApplyForm: Content {
        var first_name: String?
        var last_name: String?
        var email: String?
        var phone: String?
        var cover_letter: String?
        var cv: File?
        var consent_talent_pool: String?
        var consent_newsletter: String?
        var consent_partner_sharing: String?
        var consent_sms_reminders: String?
        var submission: String?
        var source: String?
        /// A field hidden from people; a bot that fills it in is thanked and ignored (ASVS 2.4.1).
        var website: String?
    }

    static let maxCVBytes = 10 * 1024 * 1024
    static let offeredConsents: [ConsentPurpose] = [.talentPool, .newsletter, .partnerSharing]

    @Sendable func applyForm(req: Request) async throws -> Response {
        let job = try await optionalJob(req)
        return try await renderForm(
            req, job: job, values: ["source": req.query[String.self, at: "source"] ?? ""], errors: [:],
            submission: Tokens.random())
    }

    @Sendable func apply(req: Request) async throws -> Response {
        let job = try await optionalJob(req)
        let form = try req.content.decode(ApplyForm.self)
        let submission = form.submission.flatMap { $0.count == 43 ? $0 : nil } ?? Tokens.random()
        if !(form.website ?? "").isEmpty {
            req.logger.info("apply form honeypot filled; submission discarded")
            return req.redirect(to: SiteURL.thanks)
        }
        if try await RateLimiter.application.isExceeded(key: req.clientAddress, on: req.db, now: req.now) {
            throw Abort(.tooManyRequests, reason: req.t("apply.rate_limited"))
        }

        let input = ApplicantInput(
            firstName: form.first_name ?? "", lastName: form.last_name ?? "", email: form.email ?? "",
            phone: form.phone ?? "",
            coverLetter: form.cover_letter ?? "")
        var errors = input.errors()
        var cv: (bytes: [UInt8], kind: DocumentKind, filename: String)?
        if let file = form.cv, file.data.readableBytes > 0 {
            let bytes = Array(file.data.readableBytesView)
            do {
                let kind = try DocumentKind.detect(bytes, maxBytes: Self.maxCVBytes)
                cv = (bytes, kind, file.filename)
            } catch .tooLarge {
                errors["cv"] = "error.cv_too_large"
            } catch .unsafeArchive {
                errors["cv"] = "error.cv_unsafe"
            } catch {
                errors["cv"] = "error.cv_type"
            }
        } else {
            errors["cv"] = "error.cv_required"
        }
        let consents = Set(
            [
                form.consent_talent_pool != nil ? ConsentPurpose.talentPool : nil,
                form.consent_newsletter != nil ? .newsletter : nil,
                form.consent_partner_sharing != nil ? .partnerSharing : nil,
                form.consent_sms_reminders != nil && req.application.config.sms != nil ? .smsReminders : nil,
            ].compactMap { $0 })
        // Reminders by text need a number that can receive one.
        if consents.contains(.smsReminders), errors["phone"] == nil, SMS.e164(input.phone) == nil {
            errors["phone"] = "sms.error_phone_for_reminders"
        }
        // Shown to the antivirus last, once nothing else would send the form back.
        if errors.isEmpty, let bytes = cv?.bytes, let problem = await req.antivirusProblem(bytes) {
            errors["cv"] = problem
            cv = nil
        }
        let rawSource = (form.source ?? "").trimmed.lowercased()
        let sourceDetail = String(
            rawSource.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }.prefix(40))

        guard errors.isEmpty, let cv else {
            var values = [
                "first_name": input.firstName, "last_name": input.lastName, "email": input.email, "phone": input.phone,
                "cover_letter": input.coverLetter, "source": sourceDetail,
            ]
            for purpose in consents { values["consent_\(purpose.rawValue)"] = "on" }
            return try await renderForm(
                req, job: job, values: values, errors: errors.mapValues { req.t($0) }, submission: submission,
                status: .unprocessableEntity)
        }

        try await RateLimiter.application.record(key: req.clientAddress, on: req.db, now: req.now)
        let config = req.application.config
        let intake = Intake(
            db: req.db, blobs: req.application.blobs, now: req.now,
            acknowledge: (config, req.application.shippedTemplates))
        let outcome = try await intake.submit(
            .init(
                input: input, job: job, cv: cv, consents: consents,
                source: sourceDetail.isEmpty ? .careerSite : Self.source(sourceDetail),
                sourceDetail: sourceDetail, submissionToken: submission, language: req.language, channel: .careerForm))
        if case .duplicateSubmission = outcome {
            req.logger.info("duplicate apply submission ignored")
        }
        return req.redirect(to: SiteURL.thanks + "?lang=\(req.language.rawValue)")
    }

    struct ThanksContent: Encodable {
        var company: String
    }

    @Sendable func thanks(req: Request) async throws -> Response {
        let company = try await Company.load(on: req.db)
        return try await req.page("careers/thanks", title: req.t("thanks.title"), ThanksContent(company: company.name))
    }

    // MARK: - Helpers

    /// `?source=referral` marks a referral; any other value names the job board the candidate came from.
    static func source(_ detail: String) -> JobApplication.Source {
        detail == "referral" ? .referral : .jobBoard
    }

    private func renderForm(
        _ req: Request, job: Job?, values: [String: String], errors: [String: String], submission: String,
        status: HTTPStatus = .ok
    ) async throws -> Response {
        let company = try await Company.load(on: req.db)
        let wordings = try await ConsentWording.query(on: req.db).filter(\.$locale == req.language.rawValue).all()
        let offered = Self.offeredConsents + (req.application.config.sms != nil ? [.smsReminders] : [])
        let consents = offered.map { purpose in
            ConsentBox(
                name: "consent_\(purpose.rawValue)",
                text: wordings.filter { $0.purpose == purpose }.max { $0.version < $1.version }?.text
                    ?? purpose.rawValue,
                checked: values["consent_\(purpose.rawValue)"] != nil)
        }
        let content = ApplyContent(
            company: company.name, job: job.map { card($0, req) },
            action: job.map { SiteURL.apply($0.slug) } ?? SiteURL.spontaneous,
            submission: submission, source: values["source"] ?? "", values: values, errors: errors, consents: consents,
            maxMB: Self.maxCVBytes / 1024 / 1024,
            hasErrors: !errors.isEmpty)
        let title = job.map { "\(req.t("apply.title")) · \($0.title)" } ?? req.t("apply.spontaneous_title")
        return try await req.page("careers/apply", title: title, status: status, content)
    }

    private func openJob(_ req: Request) async throws -> Job {
        guard let slug = req.parameters.get("slug"),
            let job = try await Job.query(on: req.db).filter(\.$slug == slug).filter(\.$status == .open).first()
        else { throw Abort(.notFound, reason: req.t("careers.job_not_found")) }
        return job
    }

    private func optionalJob(_ req: Request) async throws -> Job? {
        req.parameters.get("slug") == nil ? nil : try await openJob(req)
    }

    private func card(_ job: Job, _ req: Request) -> JobCard {
        JobCard(
            title: job.title, url: SiteURL.job(job.slug), department: job.department, location: job.location,
            contract: req.t("contract.\(job.contractType.rawValue)"),
            remote: req.t("remote.\(job.remotePolicy.rawValue)"))
    }
}

/// The schema.org `JobPosting` block Google for Jobs reads on each job page.
enum JobPostingLD {
    static func json(job: Job, company: Company, baseURL: String) -> String {
        let employment: String =
            switch job.contractType {
            case .cdi: "FULL_TIME"
            case .cdd, .temporary: "TEMPORARY"
            case .internship, .apprenticeship: "INTERN"
            case .freelance: "CONTRACTOR"
            }
        var organization: [String: Any] = ["@type": "Organization", "name": company.name]
        if !company.website.isEmpty { organization["sameAs"] = company.website }
        var posting: [String: Any] = [
            "@context": "https://schema.org/",
            "@type": "JobPosting",
            "title": job.title,
            "description": Markdown.html(job.description),
            "datePosted": Dates.iso8601Day(job.publishedAt ?? job.createdAt ?? Date()),
            "employmentType": employment,
            "hiringOrganization": organization,
            "identifier": [
                "@type": "PropertyValue", "name": company.name, "value": job.id?.lowercasedString ?? "",
            ],
            "url": baseURL + SiteURL.job(job.slug),
            "directApply": true,
            "jobLocation": [
                "@type": "Place",
                "address": [
                    "@type": "PostalAddress", "addressLocality": job.location, "addressCountry": company.country,
                ],
            ],
        ]
        if job.remotePolicy == .remote {
            posting["jobLocationType"] = "TELECOMMUTE"
            posting["applicantLocationRequirements"] = ["@type": "Country", "name": company.country]
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: posting, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        // Inside <script>, "</" would end the block early: escape it (and friends) so job text cannot break out.
        return String(decoding: data, as: UTF8.self)
            .replacingOccurrences(of: "<", with: "\\u003c")
            .replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }
}

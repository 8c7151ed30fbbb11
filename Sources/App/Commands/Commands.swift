import Crypto
import CryptoExtras
import Fluent
import Vapor
import VivierCore
import VivierMail

/// `vivier serve`: migrates, prints the first-admin setup link on a fresh installation, optionally loads the demo,
/// then serves HTTP.
struct VivierServeCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(
            name: "demo",
            help: "Load the demo data (company, 6 jobs, 300 candidates) before serving, if the database is empty.")
        var demo: Bool

        @Option(name: "workers", help: "Sending workers in this process: 1 (default) or 0 to serve HTTP only.")
        var workers: Int?
    }

    var help: String { "Runs Vivier: migrates the database and serves the career site and the recruiter UI." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        if signature.demo {
            try await DemoData.loadIfEmpty(app: app, console: context.console)
        }
        try await printSetupLinkIfNeeded(app: app, console: context.console)
        guard (0...1).contains(signature.workers ?? 1) else {
            throw Abort(.badRequest, reason: "--workers must be 0 or 1")
        }
        var sender: Task<Void, Never>?
        if signature.workers ?? 1 == 1 {
            do {
                let lock = try WorkerLock.forDatabase(app)
                let worker = OutboxWorker(app: app)
                // Holding the SQLite lock, this process is the only sender: what a crashed one left is ours now.
                if lock != nil { try await worker.recoverExpired(all: true) }
                sender = Task {
                    // The candidate-moment timers and the imports run where the mail is sent.
                    async let timers: Void = Scheduler(app: app).run()
                    async let imports: Void = ImportRunner(app: app).run()
                    async let webhooks: Void = WebhookSender(app: app).run()
                    await worker.run()
                    await timers
                    await imports
                    await webhooks
                    _ = lock
                }
            } catch {
                app.logger.warning("not sending mail from this process: \(error)")
            }
        }
        // Host and port come from AppConfig, already set on the server configuration.
        var input = CommandInput(arguments: ["vivier"])
        let serveSignature = try Vapor.ServeCommand.Signature(from: &input)
        try await app.servers.asyncCommand.run(using: context, signature: serveSignature)
        // The server runs until a signal stops it; only then does the sender stop.
        try await app.running?.onStop.get()
        sender?.cancel()
        await sender?.value
        await app.mailTransport.shutdown()
    }
}

/// Prints a one-time link that creates the first admin, while no admin exists (the demo team has none).
func printSetupLinkIfNeeded(app: Application, console: any Console) async throws {
    guard try await User.query(on: app.db).filter(\.$role == .admin).count() == 0 else { return }
    let token = Tokens.random()
    try await SetupToken(tokenHash: Tokens.hash(token), expiresAt: app.clock.now() + 24 * 3600).create(on: app.db)
    console.output("")
    console.output("No admin account exists yet. Create the first admin within 24 hours at:", style: .info)
    console.output("  \(app.config.publicURL)/setup/\(token)", style: .success)
    console.output("")
}

/// `vivier worker`: sends the outbox, nothing else (no HTTP). Several can share one PostgreSQL database.
struct WorkerCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "exit-when-empty", help: "Stop once nothing is due (load tests, one-off drains).")
        var exitWhenEmpty: Bool
    }
    var help: String { "Sends queued mail until stopped (one per SQLite database; any number on PostgreSQL)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        let lock = try WorkerLock.forDatabase(app)
        let worker = OutboxWorker(app: app)
        if case .sqlite = app.config.database {
            // This process holds the only lock: whatever another worker left claimed or in flight is ours to recover.
            try await worker.recoverExpired(all: true)
        }
        if signature.exitWhenEmpty {
            let started = Date()
            let total = try await worker.sendAllDue()
            let seconds = Date().timeIntervalSince(started)
            let rate = Double(total) / max(seconds, 0.001)
            context.console.print(
                "Handled \(total) messages in \(String(format: "%.2f", seconds)) s (\(String(format: "%.0f", rate)) msg/s)."
            )
            await app.mailTransport.shutdown()
            _ = lock
            return
        }
        let task = Task {
            async let timers: Void = Scheduler(app: app).run()
            async let imports: Void = ImportRunner(app: app).run()
            async let webhooks: Void = WebhookSender(app: app).run()
            await worker.run()
            await timers
            await imports
            await webhooks
        }
        let signals = DispatchSource.makeSignalSource(signal: SIGTERM)
        let interrupts = DispatchSource.makeSignalSource(signal: SIGINT)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        for source in [signals, interrupts] {
            source.setEventHandler { task.cancel() }
            source.resume()
        }
        await task.value
        await app.mailTransport.shutdown()
        _ = lock
    }
}

/// `vivier mail-load-test --count N --domain D`: queues N personalised messages of about 4 KB to distinct addresses
/// at D, to measure a relay (or a sink) end to end with `vivier worker --exit-when-empty`.
struct MailLoadTestCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "count", help: "How many messages (default 1000)") var count: Int?
        @Option(name: "domain", help: "Recipient domain; use one you own or a test sink (default sink.test)")
        var domain: String?
        @Flag(
            name: "transactional",
            help: "Queue them as transactional mail (re-sent when in doubt) instead of campaign mail.")
        var transactional: Bool
    }

    var help: String { "Queues personalised test messages for a load test of the mail path." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        let count = signature.count ?? 1000
        let domain = signature.domain ?? "sink.test"
        guard (1...1_000_000).contains(count) else {
            throw Abort(.badRequest, reason: "--count must be between 1 and 1000000")
        }
        let from = try MailAddress(app.config.mail.from.address, name: "Atelier Boréal")
        let paragraph =
            "Merci pour votre candidature. Nous revenons vers vous sous 8 jours ouvrés avec une réponse, quelle qu'elle soit. "
        let run = UUID().uuidString.prefix(8)
        let started = Date()
        for batchStart in stride(from: 0, to: count, by: 1000) {
            try await app.db.transaction { db in
                for index in batchStart..<min(batchStart + 1000, count) {
                    let name = "Candidate \(index)"
                    let message = MailMessage(
                        from: from, to: [try MailAddress("c\(index)@\(domain)", name: name)],
                        subject: "Votre candidature, \(name) — test de charge",
                        text: "Bonjour \(name),\n\n" + String(repeating: paragraph, count: 28), date: started)
                    try await Outbox.enqueue(
                        message, kind: "load-test", dedupeKey: "load:\(run):\(index)",
                        transactional: signature.transactional, candidateID: nil,
                        on: db, now: started)
                }
            }
        }
        context.console.print(
            "Queued \(count) messages in \(String(format: "%.1f", Date().timeIntervalSince(started))) s.")
    }
}

/// `vivier ingest-mail [--recipient ADDRESS]`: reads one message on stdin, as an MTA pipe delivers it (Postfix:
/// `flags=Rq user=vivier argv=/usr/local/bin/vivier ingest-mail --recipient ${recipient}`), and files a bounce or a
/// reply. Exits 67 for an address that is not ours or a forged token, 65 for an unreadable message; nothing changes
/// then.
struct IngestMailCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(
            name: "recipient",
            help: "The envelope recipient (bounce+TOKEN@ or reply+TOKEN@); else read from the headers")
        var recipient: String?
    }

    var help: String { "Files a bounce (DSN) or a candidate's reply read on stdin." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        let raw = Array(FileHandle.standardInput.readDataToEndOfFile().prefix(25 * 1024 * 1024))
        do {
            let result = try await Inbound(db: app.db, secret: app.config.secret, now: app.clock.now()).ingest(
                raw, recipient: signature.recipient)
            context.console.print("\(result)")
        } catch let failure as Inbound.Failure {
            context.console.error(failure.description)
            try? await app.asyncShutdown()
            exit(failure.exitCode)
        }
    }
}

/// `vivier dkim-keygen`: makes a 2048-bit RSA key (and an Ed25519 one) and prints the DNS records to publish.
struct DKIMKeygenCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "out", help: "File to write the PEM keys to (default dkim.pem)") var out: String?
        @Option(name: "selector", help: "DNS selector (default vivier)") var selector: String?
        @Option(name: "domain", help: "Signing domain (default: the domain of VIVIER_MAIL_FROM)") var domain: String?
    }

    var help: String { "Creates DKIM keys and prints the DNS TXT records to publish." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let path = signature.out ?? "dkim.pem"
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Abort(.conflict, reason: "\(path) exists; refusing to overwrite a key")
        }
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let ed = Curve25519.Signing.PrivateKey()
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((rsa.pemRepresentation + "\n" + ed.pemRepresentation + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else {
            throw Abort(.internalServerError, reason: "cannot write \(path)")
        }
        let domain = signature.domain ?? context.application.config.mail.from.domain
        let selector = signature.selector ?? "vivier"
        context.console.output(
            "Keys written to \(path) (readable by you only). Publish these TXT records:", style: .info)
        for signer in [
            DKIMSigner(domain: domain, selector: selector, key: .rsa(rsa)),
            DKIMSigner(domain: domain, selector: "\(selector)-ed25519", key: .ed25519(ed)),
        ] {
            // TXT strings are at most 255 characters: split the record into quoted pieces.
            let record = signer.dnsRecord
            let pieces = stride(from: 0, to: record.count, by: 250).map { offset -> String in
                let start = record.index(record.startIndex, offsetBy: offset)
                let end = record.index(start, offsetBy: min(250, record.count - offset))
                return "\"\(record[start..<end])\""
            }
            context.console.output(
                "\(signer.selector)._domainkey.\(domain). IN TXT ( \(pieces.joined(separator: " ")) )")
        }
        context.console.output(
            "Then set VIVIER_DKIM_DOMAIN=\(domain) VIVIER_DKIM_SELECTOR=\(selector) VIVIER_DKIM_KEY_FILE=\(path)")
    }
}

/// `vivier demo`: loads realistic demo data into an empty database.
struct DemoCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Loads demo data (a company, 6 jobs, 300 candidates at every stage) into an empty database." }

    func run(using context: CommandContext, signature: Signature) async throws {
        try await prepareDatabase(context.application)
        try await DemoData.loadIfEmpty(app: context.application, console: context.console)
    }
}

/// `vivier migrate`: brings the database schema up to date and exits.
struct MigrateOnlyCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Brings the database schema up to date." }

    func run(using context: CommandContext, signature: Signature) async throws {
        try await prepareDatabase(context.application)
        context.console.output("Database is up to date.", style: .success)
    }
}

/// `vivier user create EMAIL NAME --role admin`: creates a back-office user; the password is read from
/// `VIVIER_NEW_PASSWORD` or asked on the terminal, never passed as an argument (it would show in `ps`).
struct UserCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "create") var action: String
        @Argument(name: "email") var email: String
        @Argument(name: "name") var name: String
        @Option(name: "role", help: "admin, recruiter or hiring_manager (default recruiter)") var role: String?
    }

    var help: String { "Creates a back-office user: vivier user create EMAIL NAME [--role admin]" }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "create" else {
            throw Abort(.badRequest, reason: "unknown action '\(signature.action)'; use: create")
        }
        let app = context.application
        try await prepareDatabase(app)
        let email = EmailAddress.normalize(signature.email)
        guard EmailAddress.isValid(email) else {
            throw Abort(.badRequest, reason: "'\(signature.email)' is not a valid email address")
        }
        guard let role = User.Role(rawValue: signature.role ?? "recruiter") else {
            throw Abort(.badRequest, reason: "--role must be admin, recruiter or hiring_manager")
        }
        let password =
            ProcessInfo.processInfo.environment["VIVIER_NEW_PASSWORD"]
            ?? context.console.ask("Password:", isSecure: true)
        if let problem = Passwords.problem(password) {
            throw Abort(.badRequest, reason: app.translations.text(problem, .en))
        }
        let user = User(
            email: email, name: signature.name, role: role, passwordHash: try Bcrypt.hash(password),
            locale: app.config.defaultLanguage.rawValue)
        try await user.create(on: app.db)
        try await AuditLog.record(
            .userCreated, actor: nil, label: "command line",
            target: "user:\(try user.requireID().lowercasedString)",
            detail: "role=\(role.rawValue)", ip: "", on: app.db, now: app.clock.now())
        context.console.output("Created \(role.rawValue) \(email).", style: .success)
    }
}

/// `vivier segment FILE`: counts the people a segment definition (JSON, as the builder saves it) matches and lists
/// the first page, with the time each took — what the builder's live count does, from a terminal or a script.
/// `--consent newsletter` counts only those a campaign needing that consent would reach.
struct SegmentCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "file", help: "A segment definition in JSON (`-` reads standard input)") var file: String
        @Option(name: "consent", help: "Count only people holding this consent (newsletter, job_alerts…)")
        var consent: String?
        @Option(name: "repeat", help: "Run each query this many times and report the fastest (default 1)")
        var repeatCount: Int?
    }

    var help: String { "Counts and samples the people a segment definition matches." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        let data =
            signature.file == "-"
            ? FileHandle.standardInput.readDataToEndOfFile()
            : try Data(contentsOf: URL(fileURLWithPath: signature.file))
        let definition: SegmentDefinition
        do {
            definition = try JSONDecoder().decode(SegmentDefinition.self, from: data)
        } catch {
            throw SegmentQuery.Invalid(problems: ["\(signature.file) is not a segment definition: \(error)"])
        }
        var consent: (ConsentPurpose, UUID?)?
        if let name = signature.consent {
            guard let purpose = ConsentPurpose(rawValue: name) else {
                throw SegmentQuery.Invalid(problems: ["unknown consent \(name)"])
            }
            consent = (purpose, nil)
        }
        let query = SegmentQuery(db: app.db, now: app.clock.now(), lanes: app.sqliteLanes)
        func best<T>(_ body: () async throws -> T) async throws -> (T, Double) {
            var fastest = Double.infinity
            var result: T?
            for _ in 0..<max(signature.repeatCount ?? 1, 1) {
                let start = ContinuousClock.now
                result = try await body()
                let elapsed = ContinuousClock.now - start
                fastest = min(
                    fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
            return (result!, fastest)
        }
        let (count, countTime) = try await best { try await query.count(definition, requiring: consent) }
        let (page, pageTime) = try await best { try await query.page(definition, requiring: consent, limit: 50) }
        context.console.print(
            String(
                format: "count=%d count_ms=%.1f page=%d page_ms=%.1f", count, countTime * 1000, page.count,
                pageTime * 1000))
    }
}

/// `vivier queue-campaigns`: queues every campaign whose time has come now, without waiting for the scheduler's
/// next minute, and says how many messages it wrote and how long that took.
struct QueueCampaignsCommand: AsyncCommand {
    struct Signature: CommandSignature {}
    var help: String { "Queues the campaigns that are due (what the scheduler does every minute)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        let start = ContinuousClock.now
        let queued = try await CampaignSender.runDue(app: app, now: app.clock.now())
        let elapsed = ContinuousClock.now - start
        context.console.print(
            String(
                format: "queued=%d seconds=%.2f", queued,
                Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
    }
}

/// `vivier audit verify`: walks the audit log's chain and says whether it is whole; exits 1 at the first event that
/// is missing, altered or out of place.
struct AuditCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "verify") var action: String
    }

    var help: String { "Checks the audit log's hash chain: vivier audit verify" }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "verify" else { throw Abort(.badRequest, reason: "the only action is: verify") }
        let app = context.application
        try await prepareDatabase(app)
        switch try await AuditLog.verify(on: app.db) {
        case .intact(let events):
            context.console.output("Audit log intact: \(events) events, every link checked.", style: .success)
        case .broken(let seq, let reason):
            context.console.error("Audit log broken at event \(seq): \(reason).")
            try? await app.asyncShutdown()
            exit(1)
        }
    }
}

/// `vivier purge [--dry-run]`: the retention pass the scheduler runs daily, now — with `--dry-run`, only what it
/// would do: renewal notices to send, people to anonymise, profiles expiring within 30 days.
struct PurgeCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "dry-run", help: "Count without sending or anonymising anything") var dryRun: Bool
    }

    var help: String { "Runs the retention pass: vivier purge [--dry-run]" }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        let report = try await Retention(app: app, now: app.clock.now()).run(dryRun: signature.dryRun)
        let verb = signature.dryRun ? "would send" : "sent"
        let anonymise = signature.dryRun ? "would anonymise" : "anonymised"
        context.console.print(
            "Retention: \(verb) \(report.notices) renewal notice(s), \(anonymise) \(report.anonymised) person(s); "
                + "\(report.expiringIn30Days) profile(s) expire within 30 days.")
    }
}

/// `vivier api-token create NAME --admin EMAIL [--scope read|write|admin]`: an API token for a script or another
/// tool, printed once, on behalf of an admin (the UI does the same under Administration › API tokens).
struct APITokenCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "action", help: "create") var action: String
        @Argument(name: "name", help: "What the token is for (\"HRIS sync\")") var name: String
        @Option(name: "admin", help: "Email of the admin the token acts for") var admin: String?
        @Option(name: "scope", help: "read, write or admin (default read)") var scope: String?
    }

    var help: String { "Creates an API token: vivier api-token create NAME --admin EMAIL [--scope write]" }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard signature.action == "create" else {
            throw Abort(.badRequest, reason: "unknown action '\(signature.action)'; use: create")
        }
        let app = context.application
        try await prepareDatabase(app)
        guard let scope = ApiToken.Scope(rawValue: signature.scope ?? "read") else {
            throw Abort(.badRequest, reason: "--scope must be read, write or admin")
        }
        let name = signature.name.trimmed
        guard (1...100).contains(name.count) else {
            throw Abort(.badRequest, reason: "the name needs 1 to 100 characters")
        }
        guard let email = signature.admin.map(EmailAddress.normalize),
            let user = try await User.query(on: app.db).filter(\.$email == email).first(), user.isAdmin, user.active
        else { throw Abort(.badRequest, reason: "--admin must name an active admin's email") }
        let (token, record) = try ApiToken.issue(name: name, scope: scope, by: user, now: app.clock.now())
        try await record.create(on: app.db)
        try await AuditLog.record(
            .apiTokenCreated, actor: user, label: "command line", target: "api_token:\(try record.requireID().api)",
            detail: "scope=\(scope.rawValue)", ip: "", on: app.db, now: app.clock.now())
        context.console.print(token)
    }
}

/// `vivier import FILE [--map field=Column,…] [--dry-run] [--notice] [--admin EMAIL]`: a CSV of people (and past
/// applications) into the pool, with a progress bar; `--dry-run` prints the report and writes nothing.
struct ImportCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "file", help: "The CSV file (UTF-8 or Windows-1252; comma, semicolon or tab separated)")
        var file: String
        @Option(name: "map", help: "Columns for fields, e.g. email=Courriel,first_name=Prénom (others are guessed)")
        var map: String?
        @Flag(name: "dry-run", help: "Check every row and print the report; write nothing") var dryRun: Bool
        @Flag(name: "notice", help: "Email the GDPR art. 14 notice to people imported without consent") var notice: Bool
        @Option(name: "admin", help: "Email of the admin the import is recorded for") var admin: String?
    }

    var help: String { "Imports a CSV of people into the talent pool: vivier import FILE [--dry-run] [--map …]" }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        guard let data = FileManager.default.contents(atPath: signature.file) else {
            throw Abort(.badRequest, reason: "cannot read \(signature.file)")
        }
        let table = try CSVTable.parse(Array(data))
        var mapping = ImportMapping.guess(table.header)
        for pair in (signature.map ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmed }
            guard parts.count == 2, let field = ImportField(rawValue: parts[0]) else {
                throw Abort(
                    .badRequest,
                    reason: "--map takes field=Column pairs; fields: "
                        + ImportField.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard table.header.contains(parts[1]) else {
                throw Abort(
                    .badRequest,
                    reason: "no column “\(parts[1])”; the file has: \(table.header.joined(separator: ", "))")
            }
            mapping[field] = parts[1]
        }
        guard mapping[.email] != nil else {
            throw Abort(.badRequest, reason: "no email column found; name it with --map email=Column")
        }
        let console = context.console
        console.print(
            "Encoding \(table.encoding), separator “\(table.separator == "\t" ? "tab" : String(table.separator))”.")
        for field in ImportField.allCases {
            console.print(
                "  \(field.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) ← \(mapping[field] ?? "—")")
        }
        let plan = Importer.plan(
            table, mapping: mapping, jobs: try await Job.query(on: app.db).all(), now: app.clock.now())
        let report = plan.report
        console.print(
            "\(report.records) rows: \(report.people) people to import (\(report.withConsent) with consent), "
                + "\(report.applications) applications, \(report.merged.count) rows merged by address, "
                + "\(report.rowsRefused) rows refused.")
        for issue in report.errors.prefix(50) {
            console.print("  line \(issue.line), \(issue.column): \(issue.reason { app.translations.text($0, .en) })")
        }
        if report.errorCount > 50 { console.print("  … and \(report.errorCount - 50) more.") }
        if signature.dryRun {
            console.print("Dry run: nothing was written.")
            return
        }
        var user: User?
        if let email = signature.admin.map(EmailAddress.normalize) {
            user = try await User.query(on: app.db).filter(\.$email == email).first()
            guard user != nil else { throw Abort(.badRequest, reason: "--admin: no user \(email)") }
        }
        let job = PoolImport(
            filename: URL(fileURLWithPath: signature.file).lastPathComponent,
            storageKey: try app.blobs.put(Array(data)),
            createdBy: user?.id, now: app.clock.now())
        job.mappingJSON = String(decoding: try JSONEncoder().encode(mapping), as: UTF8.self)
        job.sendNotice = signature.notice
        job.status = .running
        job.leaseUntil = app.clock.now() + ImportRunner.lease
        job.reportJSON = try ImportRunner.encode(report)
        try await job.create(on: app.db)
        let started = Date()
        try await ImportRunner(app: app).run(job, plan: plan) { job in
            let width = 30
            let share = job.total == 0 ? 1 : Double(job.processed) / Double(job.total)
            let bar = String(repeating: "#", count: Int(share * Double(width)))
                .padding(toLength: width, withPad: ".", startingAt: 0)
            FileHandle.standardError.write(
                Data("\r[\(bar)] \(Int(share * 100))% \(job.processed)/\(job.total) people".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let done = try await PoolImport.find(try job.requireID(), on: app.db)
        console.print(
            "\(done?.status.rawValue ?? "?"): \(done?.createdPeople ?? 0) people created, \(done?.mergedPeople ?? 0) "
                + "completed, \(done?.applications ?? 0) applications, in "
                + String(format: "%.1f", Date().timeIntervalSince(started)) + " s.")
    }
}

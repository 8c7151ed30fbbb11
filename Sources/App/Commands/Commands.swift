import Fluent
import Vapor
import VivierCore

/// `vivier serve`: migrates, prints the first-admin setup link on a fresh installation, optionally loads the demo,
/// then serves HTTP.
struct VivierServeCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(
            name: "demo",
            help: "Load the demo data (company, 6 jobs, 300 candidates) before serving, if the database is empty.")
        var demo: Bool
    }

    var help: String { "Runs Vivier: migrates the database and serves the career site and the recruiter UI." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await prepareDatabase(app)
        if signature.demo {
            try await DemoData.loadIfEmpty(app: app, console: context.console)
        }
        try await printSetupLinkIfNeeded(app: app, console: context.console)
        // Host and port come from AppConfig, already set on the server configuration.
        var input = CommandInput(arguments: ["vivier"])
        let serveSignature = try Vapor.ServeCommand.Signature(from: &input)
        try await app.servers.asyncCommand.run(using: context, signature: serveSignature)
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
        context.console.output("Created \(role.rawValue) \(email).", style: .success)
    }
}

import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Leaf
import NIOSSL
import Vapor

/// Builds the application from its configuration: database, templates, middleware, routes, migrations.
public func configure(_ app: Application, config: AppConfig) async throws {
    app.config = config
    app.http.server.configuration.hostname = config.host
    app.http.server.configuration.port = config.port
    app.routes.defaultMaxBodySize = "1mb"

    switch config.database {
    case .sqlite(let path):
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        app.databases.use(.sqlite(.file(path)), as: .sqlite)
    case .postgres(let url):
        var postgres = try SQLPostgresConfiguration(url: url)
        if let schema = URLComponents(string: url)?.queryItems?.first(where: { $0.name == "search_path" })?.value {
            postgres.searchPath = [schema]
        }
        // Four connections per core: a request's transaction holds its connection through a dozen round trips, so
        // with one per core two applications at a time could be written, whatever the server's capacity.
        app.databases.use(.postgres(configuration: postgres, maxConnectionsPerEventLoop: 4), as: .psql)
    }

    app.blobs = try FileBlobStore(directory: config.blobDirectory)
    app.storage[Application.BrandKey.self] = .init(nil)
    guard Passwords.common.count >= 3000 else {
        throw AppConfig.Invalid(
            variable: "Resources/Security/common-passwords.txt",
            problem: "the list of common passwords is missing or short; run Vivier from the project directory")
    }
    app.translations = try Translations(
        directory: URL(fileURLWithPath: app.directory.resourcesDirectory).appendingPathComponent("Locales"))
    app.shippedTemplates = try ShippedTemplates(
        directory: URL(fileURLWithPath: app.directory.resourcesDirectory).appendingPathComponent("Templates"))

    app.views.use(.leaf)
    app.leaf.tags["number"] = NumberTag()
    app.leaf.cache.isEnabled = app.environment.isRelease

    app.middleware = .init()
    app.middleware.use(SecurityHeadersMiddleware())
    app.middleware.use(MetricsMiddleware())
    app.middleware.use(ErrorPageMiddleware())
    app.middleware.use(FileMiddleware(publicDirectory: app.directory.publicDirectory))
    app.middleware.use(SessionMiddleware())
    app.middleware.use(LanguageMiddleware())

    app.registerMigrations()
    try routes(app)
    app.asyncCommands.use(VivierServeCommand(), as: "serve", isDefault: true)
    app.asyncCommands.use(DemoCommand(), as: "demo")
    app.asyncCommands.use(MigrateOnlyCommand(), as: "migrate")
    app.asyncCommands.use(UserCommand(), as: "user")
    app.asyncCommands.use(WorkerCommand(), as: "worker")
    app.asyncCommands.use(DKIMKeygenCommand(), as: "dkim-keygen")
    app.asyncCommands.use(MailLoadTestCommand(), as: "mail-load-test")
    app.asyncCommands.use(IngestMailCommand(), as: "ingest-mail")
    app.asyncCommands.use(SegmentCommand(), as: "segment")
    app.asyncCommands.use(QueueCampaignsCommand(), as: "queue-campaigns")
    app.asyncCommands.use(AuditCommand(), as: "audit")
    app.asyncCommands.use(PurgeCommand(), as: "purge")
    app.asyncCommands.use(APITokenCommand(), as: "api-token")
    app.asyncCommands.use(ImportCommand(), as: "import")
}

/// Prepares the database for use: engine settings checked, migrations run. Called by `serve`, `demo`, `migrate`
/// and the tests.
public func prepareDatabase(_ app: Application) async throws {
    if case .postgres = app.config.database {
    } else {
        try await SQLiteSettings.apply(app)
    }
    try await app.autoMigrate()
}

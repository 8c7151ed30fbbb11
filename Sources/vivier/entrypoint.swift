import App
import Logging
import Vapor

@main
enum Entrypoint {
    static func main() async throws {
        var env = try Environment.detect()
        try LoggingSystem.bootstrap(from: &env)
        let app = try await Application.make(env)
        do {
            let config = try AppConfig.load(from: ProcessInfo.processInfo.environment, production: env == .production)
            try await configure(app, config: config)
            try await app.execute()
        } catch let invalid as AppConfig.Invalid {
            app.logger.critical("Configuration error — \(invalid)")
            try? await app.asyncShutdown()
            exit(78)
        } catch let CommandError.unknownCommand(name, available) {
            // A mistyped command is a usage error (EX_USAGE), not a crash with a backtrace.
            FileHandle.standardError.write(
                Data(
                    "vivier: unknown command \"\(name)\"; commands: \(available.sorted().joined(separator: ", "))\n"
                        .utf8))
            try? await app.asyncShutdown()
            exit(64)
        } catch {
            app.logger.report(error: error)
            try? await app.asyncShutdown()
            exit(1)
        }
        try await app.asyncShutdown()
    }
}

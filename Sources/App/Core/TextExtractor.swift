import Foundation
import VivierCore

/// Pulls the text out of a CV for search. PDFs go through `pdftotext` (poppler-utils) in a subprocess with a time
/// limit; a CV that fails extraction is still accepted, it is only not searchable by content.
enum TextExtractor {
    static let timeLimit: Duration = .seconds(10)
    static let maxCharacters = 200_000

    static func text(of file: URL, kind: DocumentKind) async -> String {
        guard kind == .pdf, let tool = executable("pdftotext") else { return "" }
        let process = Process()
        process.executableURL = tool
        process.arguments = ["-q", "-enc", "UTF-8", "-l", "20", file.path, "-"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "" }
        let reader = Task.detached { output.fileHandleForReading.readDataToEndOfFile() }
        let deadline = ContinuousClock.now + timeLimit
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            process.terminate()
            return ""
        }
        let data = await reader.value
        guard process.terminationStatus == 0 else { return "" }
        return String(String(decoding: data, as: UTF8.self).prefix(maxCharacters))
    }

    static func executable(_ name: String) -> URL? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

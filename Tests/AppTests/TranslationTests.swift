import Foundation
import Testing
import VivierCore

@testable import App

@Suite("Every word exists in both languages")
struct TranslationTests {
    @Test func everyKeyATemplateUses_existsInFrenchAndEnglish() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let translations = try Translations(directory: root.appendingPathComponent("Resources/Locales"))
        let views = root.appendingPathComponent("Resources/Views")
        let files = FileManager.default.enumerator(atPath: views.path)!.compactMap { $0 as? String }.filter {
            $0.hasSuffix(".leaf")
        }
        #expect(files.count > 10)
        var missing: [String] = []
        for file in files {
            let text = try String(contentsOf: views.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /#\(t\.([a-z0-9_]+)\)/) {
                let key = String(match.1)
                for language in Language.allCases where translations.table(language)[key] == nil {
                    missing.append("\(file): t.\(key) (\(language))")
                }
            }
        }
        #expect(missing.isEmpty, "\(missing)")
    }
}

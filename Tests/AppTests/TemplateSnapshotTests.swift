import Foundation
import Testing
import VivierCore

@testable import App

/// Every shipped template, in French and English, rendered against one full context: its subject, text part and
/// HTML part must match the committed snapshot (`Tests/AppTests/Snapshots/`). Run with
/// `VIVIER_RECORD_SNAPSHOTS=1` after a deliberate change to the wording, and read the diff.
@Suite("Shipped templates: snapshots in both languages")
struct TemplateSnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots")
    static let shipped = try! ShippedTemplates(
        directory: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Resources/Templates"))

    /// A context with every field any message offers, filled with recognisable values.
    static func context(_ language: Language) -> [String: Any] {
        let fr = language == .fr
        return [
            "candidate": [
                "first_name": "Hélène", "last_name": "Lefèvre", "full_name": "Hélène Lefèvre",
                "email": "helene@example.com",
            ],
            "company": ["name": "Atelier Boréal"],
            "job": ["title": "Développeur·se Swift", "department": "Tech", "location": "Lyon"],
            "stage": ["name": fr ? "Entretien" : "Interview"],
            "recruiter": ["name": "Camille Roux", "email": "camille@atelier-boreal.example"],
            "application": ["applied_on": fr ? "21 septembre 2026" : "21 September 2026"],
            "portal_url": "https://jobs.atelier-boreal.example/portal/t/TOKEN",
            "preferences_url": "https://jobs.atelier-boreal.example/portal/t/TOKEN?to=preferences",
            "delay": ["working_days": 8, "phrase": Composer.delayPhrase(8, language)],
            "promised_date": fr ? "1 octobre 2026" : "1 October 2026",
            "has_next_steps": true,
            "next_steps": [
                ["number": 1, "name": fr ? "Présélection" : "Screening"],
                ["number": 2, "name": fr ? "Entretien" : "Interview"],
            ],
            "interview": [
                "when": fr ? "jeudi 1 octobre 2026 à 14:30" : "Thursday 1 October 2026 at 14:30",
                "time_zone": "Europe/Paris", "duration_minutes": 45, "location": "12 rue de la Paix, Paris",
                "video_url": "https://meet.example/abc", "interviewers": "Camille Roux",
            ],
            "has_prep_pack": true,
            "prep_pack": [
                [
                    "title": fr ? "Comment se passe l'entretien" : "How the interview works",
                    "url": "https://jobs.atelier-boreal.example/prep/TOKEN", "summary": "45 min",
                ]
            ],
            "personal_note": fr ? "Votre portfolio nous a beaucoup plu." : "We really liked your portfolio.",
            "opt_in": [
                "talent_pool_url": "https://jobs.atelier-boreal.example/consent/POOL",
                "newsletter_url": "https://jobs.atelier-boreal.example/consent/NEWS",
                "partner_sharing_url": "https://jobs.atelier-boreal.example/consent/PARTNERS",
            ],
            "days_since_applied": 9,
            "awaiting": fr ? "notre invitation à un entretien" : "our interview invitation",
            "survey_url": "https://jobs.atelier-boreal.example/survey/TOKEN",
            "export_url": "https://jobs.atelier-boreal.example/portal/export/TOKEN",
            "keep_url": "https://jobs.atelier-boreal.example/keep/TOKEN", "expiry_date": "30 novembre 2026",
            "source": fr ? "fichier « vivier-2024.csv »" : "file “pool-2024.csv”",
            "partner": ["company": "Nordique SA", "name": "Léa Martin"],
            "confirm_url": "https://jobs.atelier-boreal.example/confirm/TOKEN",
            "purposes": fr ? "la lettre d'information et les alertes offres d'emploi" : "the newsletter and job alerts",
        ]
    }

    static let cases: [(MessageKind, Language)] = MessageKind.allCases.flatMap { kind in
        Language.allCases.map { (kind, $0) }
    }

    @Test(arguments: cases)
    func rendered_matchesTheSnapshot(kind: MessageKind, language: Language) throws {
        let rendered = try Self.shipped.template(kind, language).render(Self.context(language))
        let snapshot = "Subject: \(rendered.subject)\n\n--- text\n\(rendered.text)\n\n--- html\n\(rendered.html)\n"

        // Every merge tag was filled: no tag left, the person and the company named, no empty sentence.
        #expect(!snapshot.contains("{{") && !snapshot.contains("}}"))
        #expect(rendered.text.contains("Hélène") && rendered.text.contains("Atelier Boréal"))
        #expect(!rendered.text.contains("  ") && !rendered.text.contains(" ,") && !rendered.text.contains("« »"))

        let file = Self.directory.appendingPathComponent("\(language.rawValue)-\(kind.rawValue).txt")
        if ProcessInfo.processInfo.environment["VIVIER_RECORD_SNAPSHOTS"] == "1" {
            try snapshot.write(to: file, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: file, encoding: .utf8)
        #expect(snapshot == expected, "snapshot \(file.lastPathComponent) differs")
    }
}

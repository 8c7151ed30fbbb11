import Fluent
import Foundation
import VivierCore

/// The decision deadline of active applications: the day they entered their current stage (the application date
/// while they are new) plus the job's response target (14 days by default). Near it from day 10 of 14 (the last
/// 30 %), past it after. Each stage owes the candidate a decision within the target, not only the first.
enum Decisions {
    static func deadline(of application: JobApplication, targetDays: Int?) -> Date {
        application.stageEnteredAt + Double(targetDays ?? 14) * 86_400
    }

    enum Urgency: String, Encodable {
        case ok, near, past
    }

    static func urgency(of application: JobApplication, targetDays: Int?, now: Date) -> Urgency {
        guard application.outcome == .active else { return .ok }
        let deadline = deadline(of: application, targetDays: targetDays)
        if now >= deadline { return .past }
        let target = Double(targetDays ?? 14) * 86_400
        return deadline.timeIntervalSince(now) <= target * 0.3 ? .near : .ok
    }
}

/// The satisfaction survey's link to an application, kept only as a keyed hash: enough to refuse a second answer,
/// not a way back to the person in reports.
enum Survey {
    static func hash(_ applicationID: UUID) -> String {
        Tokens.hash("survey:" + applicationID.lowercasedString)
    }
}

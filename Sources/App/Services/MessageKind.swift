import Foundation
import VivierCore

/// Every automatic message to a candidate. Each has a shipped template per language (`Resources/Templates/`), may
/// be edited by recruiters (new version each save) and overridden per job.
enum MessageKind: String, CaseIterable, Codable, Sendable {
    case acknowledgement
    case interviewInvitation = "interview_invitation"
    case interviewRescheduled = "interview_rescheduled"
    case interviewCancelled = "interview_cancelled"
    case interviewReminder = "interview_reminder"
    case rejectionProfile = "rejection_profile"
    case rejectionPositionFilled = "rejection_position_filled"
    case rejectionAfterInterview = "rejection_after_interview"
    case rejectionJobWithdrawn = "rejection_job_withdrawn"
    case rejectionUnresponsive = "rejection_unresponsive"
    case stillInProgress = "still_in_progress"
    case followUp = "follow_up"
    case satisfactionSurvey = "satisfaction_survey"
    case portalLink = "portal_link"
    case cvForwarded = "cv_forwarded"
    case consentConfirmation = "consent_confirmation"
    case dataExport = "data_export"
    case retentionNotice = "retention_notice"
    /// GDPR art. 14: the person whose details came from a file, not from them, is told so.
    case importNotice = "import_notice"

    /// The template used to tell a candidate `reason`.
    static func rejection(_ reason: ClosingReason) -> MessageKind {
        switch reason {
        case .positionFilled: .rejectionPositionFilled
        case .afterInterview: .rejectionAfterInterview
        case .jobWithdrawn: .rejectionJobWithdrawn
        case .unresponsive: .rejectionUnresponsive
        case .profile, .candidateWithdrew: .rejectionProfile
        }
    }

    /// The fields every message offers.
    static let commonFields = [
        "candidate.first_name", "candidate.last_name", "candidate.full_name", "candidate.email",
        "company.name", "job", "job.title", "job.department", "job.location", "stage.name",
        "recruiter.name", "recruiter.email", "application.applied_on", "portal_url", "preferences_url",
    ]

    static let interviewFields = [
        "interview.when", "interview.time_zone", "interview.duration_minutes", "interview.location",
        "interview.video_url", "interview.interviewers", "has_prep_pack", "prep_pack[]", "prep_pack[].title",
        "prep_pack[].url",
        "prep_pack[].summary",
    ]

    /// What this kind's templates may name; the editor refuses any other tag.
    var schema: TemplateSchema {
        var fields = Self.commonFields
        switch self {
        case .acknowledgement:
            fields += [
                "delay.working_days", "delay.phrase", "promised_date", "has_next_steps", "next_steps[]",
                "next_steps[].number",
                "next_steps[].name",
            ]
        case .interviewInvitation, .interviewRescheduled, .interviewCancelled, .interviewReminder:
            fields += Self.interviewFields
        case .rejectionProfile, .rejectionPositionFilled, .rejectionAfterInterview, .rejectionJobWithdrawn,
            .rejectionUnresponsive:
            fields += [
                "personal_note", "opt_in.talent_pool_url", "opt_in.newsletter_url", "opt_in.partner_sharing_url",
            ]
        case .stillInProgress:
            fields += ["promised_date", "days_since_applied"]
        case .followUp:
            fields += ["awaiting"]
        case .satisfactionSurvey:
            fields += ["survey_url"]
        case .portalLink:
            break
        case .cvForwarded:
            fields += ["partner.company", "partner.name"]
        case .consentConfirmation:
            fields += ["confirm_url", "purposes"]
        case .dataExport:
            fields += ["export_url"]
        case .retentionNotice:
            fields += ["keep_url", "expiry_date"]
        case .importNotice:
            fields += ["source"]
        }
        return TemplateSchema(fields)
    }

    /// Messages that tell the candidate nothing new about their application: the "no news" timer and the promises
    /// kept look past them. The recruiters' digest is not a candidate message at all.
    static let automatic = [acknowledgement.rawValue, interviewReminder.rawValue, "decision_digest"]

    /// Whether the message needs an answer from the candidate (the silence detector counts these).
    var expectsAnswer: Bool { self == .interviewInvitation || self == .interviewRescheduled }
}

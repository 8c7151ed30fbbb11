import VivierCore
import VivierMail

/// What every automatic message to a candidate has in common: the company's name on the sender address, the text
/// with its line breaks kept in the HTML part, and the mark of an automatic message (RFC 3834).
enum CandidateMail {
    static func message(
        from sender: MailAddress, company: String, to candidate: Candidate, subject: String, text: String,
        calendar: (method: String, body: String)? = nil
    ) throws -> MailMessage {
        MailMessage(
            from: try MailAddress(sender.address, name: company),
            to: [try MailAddress(candidate.email, name: candidate.fullName)],
            subject: subject, text: text, html: Markdown.html(text.replacingOccurrences(of: "\n", with: "  \n")),
            calendar: calendar, extraHeaders: [("Auto-Submitted", "auto-generated")])
    }
}

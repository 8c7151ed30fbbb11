import VivierCore
import VivierMail

/// What every automatic message to a candidate has in common: the company's name on the sender address, the HTML
/// part in a plain readable frame, and the mark of an automatic message (RFC 3834).
enum CandidateMail {
    static func message(
        from sender: MailAddress, company: String, to candidate: Candidate, rendered: MessageTemplate.Rendered,
        calendar: (method: String, body: String)? = nil
    ) throws -> MailMessage {
        MailMessage(
            from: try MailAddress(sender.address, name: company),
            to: [try MailAddress(candidate.email, name: candidate.fullName)],
            subject: rendered.subject, text: rendered.text, html: frame(rendered.html, subject: rendered.subject),
            calendar: calendar, extraHeaders: [("Auto-Submitted", "auto-generated")])
    }

    /// The body in a narrow, legible column; inline styles only, as mail clients drop style sheets.
    static func frame(_ html: String, subject: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(subject.htmlEscaped)</title></head>
        <body style="margin:0;padding:24px;background:#f6f5f2">
        <div style="max-width:600px;margin:0 auto;background:#ffffff;padding:24px 28px;border-radius:8px;\
        font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1f2328">
        \(html)
        </div></body></html>
        """
    }
}

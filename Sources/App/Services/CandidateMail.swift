import VivierCore
import VivierMail

/// What every automatic message to a candidate has in common: the company's name on the sender address, the HTML
/// part in a plain readable frame, and the mark of an automatic message (RFC 3834).
enum CandidateMail {
    static func message(
        from sender: MailAddress, brand: Brand, publicURL: String, to candidate: Candidate,
        rendered: MessageTemplate.Rendered, calendar: (method: String, body: String)? = nil
    ) throws -> MailMessage {
        MailMessage(
            from: try MailAddress(sender.address, name: brand.name),
            to: [try MailAddress(candidate.email, name: candidate.fullName)],
            subject: rendered.subject, text: rendered.text,
            html: frame(rendered.html, subject: rendered.subject, brand: brand, publicURL: publicURL),
            calendar: calendar, extraHeaders: [("Auto-Submitted", "auto-generated")])
    }

    /// The body in a narrow, legible column under the company's logo (or name) and colour; inline styles only, as
    /// mail clients drop style sheets.
    static func frame(_ html: String, subject: String, brand: Brand, publicURL: String) -> String {
        let header =
            if let logo = brand.logoPath {
                "<img src=\"\(publicURL + logo)\" alt=\"\(brand.name.htmlEscaped)\" height=\"40\" "
                    + "style=\"display:block;height:40px;width:auto;max-width:240px;border:0\">"
            } else {
                "<strong style=\"font-size:18px;color:\(brand.color)\">\(brand.name.htmlEscaped)</strong>"
            }
        // Links take the company's colour; the author's Markdown cannot carry a style of its own.
        let body = html.replacingBytes(of: "<a href=", with: "<a style=\"color:\(brand.color)\" href=")
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(subject.htmlEscaped)</title></head>
            <body style="margin:0;padding:24px;background:#f6f5f2">
            <div style="max-width:600px;margin:0 auto;background:#ffffff;padding:24px 28px;border-radius:8px;\
            border-top:4px solid \(brand.color);\
            font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1f2328">
            <div style="margin:0 0 20px">\(header)</div>
            \(body)
            </div></body></html>
            """
    }
}

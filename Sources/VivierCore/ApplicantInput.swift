/// What a candidate types into the apply form, checked before anything is stored. Errors are message keys per field
/// so the form can be re-rendered in the page's language with each error next to its field.
public struct ApplicantInput: Sendable {
    public var firstName: String
    public var lastName: String
    public var email: String
    public var phone: String
    public var coverLetter: String

    public init(firstName: String, lastName: String, email: String, phone: String, coverLetter: String) {
        self.firstName = firstName.trimmed
        self.lastName = lastName.trimmed
        self.email = email.trimmed
        self.phone = phone.trimmed
        self.coverLetter = coverLetter.trimmed
    }

    public static let maxNameLength = 100
    public static let maxCoverLetterLength = 10_000

    /// Field name → message key, empty when the input is acceptable.
    public func errors() -> [String: String] {
        var errors: [String: String] = [:]
        for (field, value) in [("first_name", firstName), ("last_name", lastName)] {
            if value.isEmpty {
                errors[field] = "error.required"
            } else if value.count > Self.maxNameLength {
                errors[field] = "error.too_long"
            } else if value.contains(where: { $0.isNewline || ($0.asciiValue.map { $0 < 32 } ?? false) }) {
                errors[field] = "error.invalid_characters"
            }
        }
        if email.isEmpty {
            errors["email"] = "error.required"
        } else if !EmailAddress.isValid(email) {
            errors["email"] = "error.email_invalid"
        }
        if !phone.isEmpty && !Self.isPlausiblePhone(phone) {
            errors["phone"] = "error.phone_invalid"
        }
        if coverLetter.count > Self.maxCoverLetterLength {
            errors["cover_letter"] = "error.too_long"
        } else if coverLetter.unicodeScalars.contains("\u{0}") {
            // No one types a NUL; PostgreSQL cannot store one in text (schemathesis sent it through the API).
            errors["cover_letter"] = "error.nul_character"
        }
        return errors
    }

    /// 6 to 20 digits, with the usual separators and an optional leading `+`.
    public static func isPlausiblePhone(_ phone: String) -> Bool {
        let allowed = Set("0123456789 .-()/")
        let body = phone.hasPrefix("+") ? phone.dropFirst() : Substring(phone)
        let digits = body.filter(\.isNumber).count
        return body.allSatisfy { allowed.contains($0) } && (6...20).contains(digits)
    }
}

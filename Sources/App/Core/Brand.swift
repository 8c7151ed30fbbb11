import Fluent
import NIOConcurrencyHelpers
import Vapor

/// The company's colour as `#rrggbb`, dark enough for text on white and for white text on it (WCAG 2.1 1.4.3).
enum BrandColor {
    static let `default` = "#1f5f8b"
    static let minimumContrast = 4.5

    /// The colour in canonical form, or why it cannot be used: the contrast it has with white when too light.
    static func parse(_ raw: String) -> Result<String, Problem> {
        let hex = raw.trimmed.lowercased()
        guard hex.count == 7, hex.first == "#", hex.dropFirst().allSatisfy(\.isHexDigit) else {
            return .failure(.notHex)
        }
        let ratio = contrastWithWhite(hex)
        return ratio >= minimumContrast ? .success(hex) : .failure(.tooLight(ratio))
    }

    enum Problem: Error, Equatable {
        case notHex
        case tooLight(Double)
    }

    /// (L_white + 0.05) / (L + 0.05), with the relative luminance of WCAG 2.1.
    static func contrastWithWhite(_ hex: String) -> Double {
        let value = Int(hex.dropFirst(), radix: 16) ?? 0
        let channels = [value >> 16, (value >> 8) & 0xff, value & 0xff].map { channel -> Double in
            let c = Double(channel) / 255
            return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
        }
        let luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
        return 1.05 / (luminance + 0.05)
    }
}

/// How the company appears to candidates: its name, colour and logo, on public pages and in emails.
struct Brand: Encodable, Sendable {
    var name: String
    var color: String
    /// Path of the logo (`/brand/logo/KEY`), nil without one. The key changes with the file, so it is cached forever.
    var logoPath: String?
    /// The style sheet that sets the colour; its address changes with the colour.
    var themePath: String

    init(_ company: Company) {
        name = company.name
        color = company.brandColor
        let key = company.logo.split(separator: "|").first.map(String.init)
        logoPath = key.map { SiteURL.brandLogo($0) }
        themePath = SiteURL.brandTheme + "?v=" + company.brandColor.dropFirst()
    }

    /// The logo's media types: raster images only (an SVG can carry script), sniffed from their first bytes.
    static func logoType(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.count > 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
            return "image/webp"
        }
        return nil
    }

    static let maxLogoBytes = 512 * 1024
}

extension Application {
    struct BrandKey: StorageKey {
        typealias Value = NIOLockedValueBox<(brand: Brand, at: Date)?>
    }

    /// Made by `configure`, before any request can race to create it.
    private var brandBox: NIOLockedValueBox<(brand: Brand, at: Date)?> { storage[BrandKey.self]! }

    /// The brand every public page shows, read from the settings at most every ten seconds (another instance's
    /// change shows within that time; this instance's at once, see `forgetBrand`).
    func brand(on db: any Database) async throws -> Brand {
        if let cached = brandBox.withLockedValue({ $0 }), Date().timeIntervalSince(cached.at) < 10 {
            return cached.brand
        }
        let brand = Brand(try await Company.load(on: db))
        brandBox.withLockedValue { $0 = (brand, Date()) }
        return brand
    }

    func forgetBrand() { brandBox.withLockedValue { $0 = nil } }
}

import Foundation

/// Where Vivier may send a request on someone's behalf (webhooks), decided before any connection (ASVS 1.3.6,
/// the OWASP SSRF prevention rules): https only unless allowed, no credentials in the URL, and every address the
/// host resolves to public — not loopback, private, link-local, shared, multicast, reserved or documentation space,
/// in any spelling (decimal, octal or hex IPv4; IPv4 inside IPv6).
struct OutboundURL: Sendable, Equatable {
    struct Policy: Sendable {
        /// `http://` too (a lab, a local receiver).
        var allowHTTP = false
        /// Private and loopback addresses too (a receiver inside the company network).
        var allowPrivate = false
    }

    enum Refusal: Error, Equatable, CustomStringConvertible {
        case malformed
        case scheme(String)
        case credentials
        case address(String)
        case unresolvable(String)

        var description: String {
            switch self {
            case .malformed: return "Not an absolute URL."
            case .scheme(let scheme): return "Only https URLs are allowed (this one is \(scheme))."
            case .credentials: return "A URL may not carry a user name or password."
            case .address(let address): return "\(address) is not a public internet address."
            case .unresolvable(let host): return "\(host) does not resolve."
            }
        }
    }

    var url: URL
    var host: String
    var port: Int
    /// The address checked, which the connection must use (no second lookup an attacker could answer differently).
    var address: String

    /// Checks `text` and resolves its host. `resolve` is injected so tests decide what a name resolves to.
    static func check(
        _ text: String, policy: Policy, resolve: (String) -> [String] = OutboundURL.resolve
    ) throws -> OutboundURL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let rawHost = components.host, !rawHost.isEmpty, let url = components.url
        else { throw Refusal.malformed }
        guard scheme == "https" || (scheme == "http" && policy.allowHTTP) else { throw Refusal.scheme(scheme) }
        guard components.user == nil, components.password == nil else { throw Refusal.credentials }
        var host = rawHost.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.hasSuffix(".") { host.removeLast() }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        // A literal address, in any of the spellings the resolver would accept, is judged as such.
        let addresses: [String]
        if let literal = Self.literal(host) {
            addresses = [literal]
        } else {
            guard host.contains(where: \.isLetter), !host.hasSuffix(".localhost"), host != "localhost" else {
                throw Refusal.address(host)
            }
            addresses = resolve(host)
            guard !addresses.isEmpty else { throw Refusal.unresolvable(host) }
        }
        // Link-local stays refused even where private networks are allowed: it is where cloud metadata lives.
        for address in addresses where !Self.isPublic(address) && (!policy.allowPrivate || Self.isLinkLocal(address)) {
            throw Refusal.address(address)
        }
        return OutboundURL(url: url, host: host, port: port, address: addresses[0])
    }

    /// The addresses of `host`, as the system resolver gives them.
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                let family = Int32(address.pointee.sa_family)
                var written: UnsafePointer<CChar>?
                if family == AF_INET {
                    var raw = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    written = inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
                } else if family == AF_INET6 {
                    var raw = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    written = inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
                }
                if written != nil { addresses.append(String(cString: buffer)) }
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }

    /// `host` read as an IPv4 or IPv6 address the way inet_aton and the URL parsers do (`2130706433`, `0x7f.1`,
    /// `0177.0.0.1`), normalised; nil for a name.
    static func literal(_ host: String) -> String? {
        if host.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
            return host
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            let text = part.lowercased()
            let value: UInt64?
            if text.hasPrefix("0x") {
                value = text.count == 2 ? 0 : UInt64(text.dropFirst(2), radix: 16)
            } else if text.hasPrefix("0") && text.count > 1 {
                value = UInt64(text.dropFirst(), radix: 8)
            } else {
                value = UInt64(text, radix: 10)
            }
            guard let value else { return nil }
            values.append(value)
        }
        // The last part fills the remaining bytes: a.b.c.d, a.b.(16 bits), a.(24 bits), (32 bits).
        var number: UInt64 = 0
        for (index, value) in values.enumerated() {
            if index < values.count - 1 {
                guard value <= 255 else { return nil }
                number = number << 8 | value
            } else {
                let bits = UInt64(8 * (5 - values.count))
                guard value < (1 << bits) else { return nil }
                number = number << bits | value
            }
        }
        return (0..<4).map { String((number >> (24 - 8 * UInt64($0))) & 0xFF) }.joined(separator: ".")
    }

    /// Whether `address` (dotted IPv4 or IPv6 text) is ordinary public unicast space.
    static func isPublic(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return isPublicIPv4(UInt32(bigEndian: v4.s_addr))
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        let embedded = { (from: Int) -> UInt32 in
            bytes[from..<from + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return isPublicIPv4(embedded(12))  // ::ffff:a.b.c.d, IPv4-mapped
        }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false }  // ::, ::1, IPv4-compatible
        if bytes[0..<12] == [0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0] { return isPublicIPv4(embedded(12)) }  // NAT64
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return isPublicIPv4(embedded(2)) }  // 6to4
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0 && bytes[3] == 0 { return false }  // Teredo
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0D && bytes[3] == 0xB8 { return false }  // documentation
        if bytes[0] & 0xFE == 0xFC { return false }  // unique local fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return false }  // link-local fe80::/10
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0xC0 { return false }  // site-local fec0::/10
        if bytes[0] == 0xFF { return false }  // multicast
        return bytes[0] & 0xE0 == 0x20  // global unicast 2000::/3
    }

    /// 169.254.0.0/16 and fe80::/10, also written inside IPv6.
    static func isLinkLocal(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 16 == 0xA9FE }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }
        let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        return mapped && bytes[12] == 169 && bytes[13] == 254
    }

    static func isPublicIPv4(_ address: UInt32) -> Bool {
        let blocked: [(UInt32, UInt32)] = [
            (0x0000_0000, 8),  // "this network"
            (0x0A00_0000, 8),  // private
            (0x6440_0000, 10),  // shared address space (carrier-grade NAT)
            (0x7F00_0000, 8),  // loopback
            (0xA9FE_0000, 16),  // link-local, cloud metadata
            (0xAC10_0000, 12),  // private
            (0xC000_0000, 24),  // IETF protocol assignments
            (0xC000_0200, 24),  // documentation
            (0xC058_6300, 24),  // 6to4 relay anycast
            (0xC0A8_0000, 16),  // private
            (0xC612_0000, 15),  // benchmarking
            (0xC633_6400, 24),  // documentation
            (0xCB00_7100, 24),  // documentation
            (0xE000_0000, 4),  // multicast
            (0xF000_0000, 4),  // reserved, broadcast
        ]
        return !blocked.contains { network, bits in address >> (32 - bits) == network >> (32 - bits) }
    }
}

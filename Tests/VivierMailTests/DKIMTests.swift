import Crypto
import CryptoExtras
import Foundation
import Testing

@testable import VivierMail

@Suite("DKIM signatures")
struct DKIMTests {
    /// RFC 8463 Appendix A: the message both example signatures cover.
    static let vectorMessage = Array(
        ("From: Joe SixPack <joe@football.example.com>\r\nTo: Suzie Q <suzie@shopping.example.net>\r\nSubject: Is dinner ready?\r\n"
            + "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\nMessage-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\r\n"
            + "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n").utf8)
    static let vectorNames = ["from", "to", "subject", "date", "message-id", "from", "subject", "date"]

    static func vectorField(algorithm: String, selector: String) -> String {
        "DKIM-Signature: v=1; a=\(algorithm); c=relaxed/relaxed;\r\n d=football.example.com; i=@football.example.com;\r\n"
            + " q=dns/txt; s=\(selector); t=1528637909; h=from : to :\r\n subject : date : message-id : from : subject : date;\r\n"
            + " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n b="
    }

    @Test func rfc8463_bodyHash() {
        let (_, body) = DKIMSigner.split(Self.vectorMessage)
        #expect(
            Data(SHA256.hash(data: DKIMSigner.relaxedBody(body))).base64EncodedString()
                == "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=")
    }

    @Test func rfc8463_ed25519SignatureIsReproducedExactly() throws {
        // The RFC's Ed25519 key (the RFC 8032 test seed); Ed25519 is deterministic, so the signature must match.
        let seed = try #require(Data(base64Encoded: "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="))
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        #expect(key.publicKey.rawRepresentation.base64EncodedString() == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
        let signer = DKIMSigner(domain: "football.example.com", selector: "brisbane", key: .ed25519(key))
        let (headers, _) = DKIMSigner.split(Self.vectorMessage)
        let input = DKIMSigner.signingInput(
            fields: DKIMSigner.fields(headers), names: Self.vectorNames,
            unsignedField: Self.vectorField(algorithm: "ed25519-sha256", selector: "brisbane"))
        #expect(
            try signer.sign(input).base64EncodedString()
                == "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==")
    }

    @Test func rfc8463_rsaSignatureVerifiesOverOurCanonicalForm() throws {
        // The RFC's example key is 1024 bits: too weak to sign with, fine to check our canonical form against.
        let publicKey = try _RSA.Signing.PublicKey(
            unsafeDERRepresentation: try #require(
                Data(
                    base64Encoded:
                        "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
                )))
        let signature = _RSA.Signing.RSASignature(
            rawRepresentation: try #require(
                Data(
                    base64Encoded:
                        "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8="
                )))
        let (headers, _) = DKIMSigner.split(Self.vectorMessage)
        let input = DKIMSigner.signingInput(
            fields: DKIMSigner.fields(headers), names: Self.vectorNames,
            unsignedField: Self.vectorField(algorithm: "rsa-sha256", selector: "test"))
        #expect(publicKey.isValidSignature(signature, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5))
    }

    @Test func relaxedCanonicalisation_edgeCases() {
        #expect(DKIMSigner.relaxedBody([]) == [])
        #expect(DKIMSigner.relaxedBody(Array("\r\n\r\n".utf8)) == [])
        // Whitespace-only trailing lines are empty after stripping, so they go too.
        #expect(
            String(decoding: DKIMSigner.relaxedBody(Array("Hello!\r\n  \r\n\r\n".utf8)), as: UTF8.self) == "Hello!\r\n")
        #expect(String(decoding: DKIMSigner.relaxedBody(Array("a  \t b \r\nc".utf8)), as: UTF8.self) == "a b\r\nc\r\n")
        #expect(DKIMSigner.relaxedHeader("Subject :  Hello \r\n\t World  ") == "subject:Hello World")
        #expect(
            DKIMSigner.relaxedHeader("List-Unsubscribe:\r\n <https://x.example/u>")
                == "list-unsubscribe:<https://x.example/u>")
    }

    @Test func keys_areCheckedWhenRead() throws {
        #expect(throws: DKIMSigner.KeyError.self) { try DKIMSigner.keys(fromPEM: "not a key") }
        #expect(throws: DKIMSigner.KeyError.self) {
            try DKIMSigner.keys(fromPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        }
        let weak = try Self.openssl(["genrsa", "1024"])
        #expect(throws: DKIMSigner.KeyError.weak(bits: 1024)) { try DKIMSigner.keys(fromPEM: weak) }
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let ed = Curve25519.Signing.PrivateKey()
        let both = try DKIMSigner.keys(fromPEM: rsa.pemRepresentation + "\n" + ed.pemRepresentation)
        #expect(both.count == 2)
        let record = DKIMSigner(domain: "atelier-boreal.example", selector: "s2026a", key: .rsa(rsa)).dnsRecord
        #expect(record.hasPrefix("v=DKIM1; k=rsa; p=MIIBIjAN"))
    }

    @Test(.enabled(if: Peers.available), arguments: ["normal", "empty", "trailing whitespace"])
    func signatures_verifyWithDkimpy(body: String) throws {
        // Setup: both algorithms, a French message with every header we sign.
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let ed = Curve25519.Signing.PrivateKey()
        let signers = [
            DKIMSigner(domain: "atelier-boreal.example", selector: "rsa2026", key: .rsa(rsa)),
            DKIMSigner(domain: "atelier-boreal.example", selector: "ed2026", key: .ed25519(ed)),
        ]
        let text: String =
            switch body {
            case "empty": ""
            case "trailing whitespace": "Bonjour  \n\n  \n\t\n"
            default: "Bonjour Hélène,\n\nMerci pour votre candidature. Réponse sous 8 jours ouvrés.\n"
            }
        let message = MailMessage(
            from: try MailAddress("recrutement@atelier-boreal.example", name: "Atelier Boréal"),
            to: [try MailAddress("helene@example.com", name: "Hélène Lefèvre")],
            subject: "Votre candidature à l’offre « Développeur·se »", text: text,
            html: body == "normal" ? "<p>Bonjour</p>" : nil,
            unsubscribe: (
                https: "https://jobs.atelier-boreal.example/u/v1.token", mailto: "unsub+token@atelier-boreal.example"
            ))
        // Act
        let signed = try DKIMSigner.sign(try message.render(), with: signers)
        // Check: dkimpy verifies both, with the keys given offline.
        let records = signers.map { "\($0.selector)._domainkey.\($0.domain)=\($0.dnsRecord)" }
        let verdicts = try Peers.run("dkim_verify.py", records, input: signed).split(separator: "\n")
        #expect(verdicts == ["pass", "pass"])
        let header = String(decoding: signed.prefix(2000), as: UTF8.self)
        #expect(
            header.contains(
                "h=from:from:to:to:subject:subject:date:date:message-id:message-id:mime-version:mime-version"))
        #expect(header.contains("list-unsubscribe:list-unsubscribe:list-unsubscribe-post:list-unsubscribe-post"))
        // A changed body no longer verifies: the check above can fail.
        var tampered = signed
        tampered.append(contentsOf: Array("tampered\r\n".utf8))
        #expect(try Peers.run("dkim_verify.py", records, input: tampered).split(separator: "\n") == ["fail", "fail"])
    }

    static func openssl(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

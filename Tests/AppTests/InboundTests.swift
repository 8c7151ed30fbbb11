import Fluent
import Foundation
import Testing
import Vapor
import VivierMail

@testable import App

@Suite("Bounces and replies coming back")
struct InboundTests {
    /// Queues one tracked message to a candidate and returns its row.
    static func tracked(_ app: Application) async throws -> (OutboxMessage, Candidate) {
        let candidate = Candidate(
            email: "helene@example.com", firstName: "Hélène", lastName: "Lefèvre", phone: "", language: .fr)
        try await candidate.create(on: app.db)
        let message = MailMessage(
            from: try MailAddress("recrutement@atelier-boreal.example", name: "Atelier Boréal"),
            to: [try MailAddress("helene@example.com")],
            subject: "Votre candidature", text: "Bonjour")
        try await Outbox.enqueue(
            message, kind: "acknowledgement", dedupeKey: "ack:1", transactional: true, candidateID: candidate.id,
            tracking: app.config.secret,
            on: app.db, now: app.clock.now())
        let row = try #require(try await OutboxMessage.query(on: app.db).first())
        return (row, candidate)
    }

    static func dsn(to address: String, status: String, action: String) -> [UInt8] {
        Array(
            """
            From: MAILER-DAEMON@mx.example.net\r
            To: \(address)\r
            Subject: Undelivered Mail Returned to Sender\r
            MIME-Version: 1.0\r
            Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r
            \r
            --b1\r
            Content-Type: text/plain\r
            \r
            Delivery failed.\r
            --b1\r
            Content-Type: message/delivery-status\r
            \r
            Reporting-MTA: dns; mx.example.net\r
            \r
            Final-Recipient: rfc822; helene@example.com\r
            Action: \(action)\r
            Status: \(status)\r
            Diagnostic-Code: smtp; 550 5.1.1 <helene@example.com>: Recipient address rejected\r
            --b1--\r

            """.utf8)
    }

    @Test func trackedMessage_usesVERPSenderAndReplyTo() async throws {
        try await withApp { app, _ in
            let (row, _) = try await Self.tracked(app)
            #expect(row.sender.hasPrefix("bounce+") && row.sender.hasSuffix("@atelier-boreal.example"))
            #expect(row.sender.split(separator: "@")[0].utf8.count <= 64)
            let body = try await row.body(on: app.db)
            #expect(
                body.contains("Reply-To: Atelier =?utf-8?q?Bor=C3=A9al?= <reply+") || body.contains("Reply-To:"))
            #expect(Verp.parse(row.sender, secret: app.config.secret)?.1 == row.id)
            #expect(
                Verp.parse(row.sender.uppercased(), secret: app.config.secret)?.1 == row.id,
                "case-folding MTAs keep it valid")
        }
    }

    @Test func hardBounce_failsTheMessageAndSuppressesTheAddress() async throws {
        try await withApp { app, _ in
            let (row, candidate) = try await Self.tracked(app)
            let inbound = Inbound(db: app.db, secret: app.config.secret, now: app.clock.now())
            let result = try await inbound.ingest(
                Self.dsn(to: row.sender, status: "5.1.1", action: "failed"), recipient: row.sender)
            #expect(result == .hardBounce(status: "5.1.1"))
            let stored = try #require(try await OutboxMessage.find(row.id, on: app.db))
            #expect(stored.status == .failed && stored.lastReply?.contains("5.1.1") == true)
            #expect(
                try await Suppression.query(on: app.db).filter(\.$addressHash == Suppression.hash("helene@example.com"))
                    .count() == 1)
            let timeline = try await Interaction.query(on: app.db).filter(\.$candidate.$id == candidate.requireID())
                .all()
            #expect(timeline.contains { $0.kind == .message && $0.detail.contains("hard bounce 5.1.1") })
        }
    }

    @Test func softBounce_isCountedOnly() async throws {
        try await withApp { app, _ in
            let (row, _) = try await Self.tracked(app)
            let inbound = Inbound(db: app.db, secret: app.config.secret, now: app.clock.now())
            // Without --recipient, the address is read from the headers.
            #expect(
                try await inbound.ingest(Self.dsn(to: row.sender, status: "4.2.2", action: "delayed"), recipient: nil)
                    == .softBounce(status: "4.2.2"))
            #expect(try await OutboxMessage.find(row.id, on: app.db)?.status == .pending)
            #expect(try await Suppression.query(on: app.db).count() == 0)
        }
    }

    @Test func reply_landsOnTheTimelineAndCountsAsContact() async throws {
        try await withApp { app, clock in
            let (row, candidate) = try await Self.tracked(app)
            clock.advance(by: 3600)
            let replyAddress = Verp.address(
                .reply, messageID: try row.requireID(), domain: "atelier-boreal.example", secret: app.config.secret)
            let reply = Array(
                "From: helene@example.com\r\nTo: \(replyAddress)\r\nSubject: Re: Votre candidature\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nMerci, je suis disponible mardi =C3=A0 10h.\r\n"
                    .utf8)
            let inbound = Inbound(db: app.db, secret: app.config.secret, now: clock.now())
            #expect(try await inbound.ingest(reply, recipient: replyAddress) == .reply)
            let timeline = try await Interaction.query(on: app.db).filter(\.$candidate.$id == candidate.requireID())
                .all()
            #expect(timeline.contains { $0.detail.contains("disponible mardi à 10h") })
            #expect(try await Candidate.find(candidate.id, on: app.db)?.lastActiveContactAt == clock.now())
        }
    }

    @Test func forgedOrForeignAddresses_changeNothing() async throws {
        try await withApp { app, _ in
            let (row, _) = try await Self.tracked(app)
            let inbound = Inbound(db: app.db, secret: app.config.secret, now: app.clock.now())
            let forged = row.sender.replacingOccurrences(
                of: ".", with: ".0", options: [], range: row.sender.range(of: "."))
            for address in [
                forged, "bounce+nothing@atelier-boreal.example", "someone@atelier-boreal.example",
                Verp.address(
                    .bounce, messageID: try row.requireID(), domain: "x.example",
                    secret: Array("another secret entirely 0123456789abc".utf8)),
            ] {
                await #expect(throws: Inbound.Failure.self) {
                    try await inbound.ingest(
                        Self.dsn(to: address, status: "5.1.1", action: "failed"), recipient: address)
                }
            }
            await #expect(throws: Inbound.Failure.self) { try await inbound.ingest([], recipient: row.sender) }
            #expect(try await OutboxMessage.find(row.id, on: app.db)?.status == .pending)
            #expect(try await Suppression.query(on: app.db).count() == 0)
            #expect(Inbound.Failure.notOurs("x").exitCode == 67 && Inbound.Failure.unreadable("x").exitCode == 65)
        }
    }
}

import Fluent
import Vapor

/// The click counter and the open pixel of campaign messages. A click is an act of the person (an active contact
/// for retention); an open is not, as mail privacy proxies fetch every image.
struct TrackingController {
    /// `/c/TOKEN`: counts the click and sends the person on to the address the author wrote.
    @Sendable func click(req: Request) async throws -> Response {
        let token = req.parameters.get("token") ?? ""
        let config = req.application.config
        let result = SignedLink.open(token, secret: config.secret, now: req.now)
        // An expired link still leads where it led, without being counted; a forged one leads nowhere.
        let fields: [String]
        switch result {
        case .success(let opened): fields = opened
        case .failure(.expired):
            guard case .success(let opened) = SignedLink.open(token, secret: config.secret, now: .distantPast) else {
                return try await LinkProblem.page(.tampered, req)
            }
            fields = opened
        case .failure: return try await LinkProblem.page(.tampered, req)
        }
        guard fields.count == 3, fields[0] == "c", let outboxID = UUID(uuidString: fields[1]),
            let position = Int(fields[2]), let message = try await OutboxMessage.find(outboxID, on: req.db),
            let campaignID = message.campaignID,
            let link = try await CampaignLink.query(on: req.db).filter(\.$campaign.$id == campaignID)
                .filter(\.$position == position).first()
        else { return try await LinkProblem.page(.tampered, req) }
        if case .success = result {
            try await req.db.transaction { db in
                try await CampaignEvent(
                    campaignID: campaignID, outboxID: outboxID, candidateID: message.$candidate.id, kind: .click,
                    linkPosition: position, at: req.now
                ).create(on: db)
                if let candidateID = message.$candidate.id {
                    try await Candidate.query(on: db).filter(\.$id == candidateID)
                        .set(\.$lastActiveContactAt, to: req.now).update()
                }
            }
        }
        return req.redirect(to: link.url, redirectType: .normal)
    }

    /// A transparent 1×1 GIF.
    static let pixel: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF,
        0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
        0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    /// `/o/TOKEN`: counts an open; always answers the image, so a mail never shows a broken one.
    @Sendable func open(req: Request) async throws -> Response {
        if case .success(let fields) = SignedLink.open(
            req.parameters.get("token") ?? "", secret: req.application.config.secret, now: req.now),
            fields.count == 2, fields[0] == "o", let outboxID = UUID(uuidString: fields[1]),
            let message = try await OutboxMessage.find(outboxID, on: req.db), let campaignID = message.campaignID
        {
            try await CampaignEvent(
                campaignID: campaignID, outboxID: outboxID, candidateID: message.$candidate.id, kind: .open,
                at: req.now
            ).create(on: req.db)
        }
        let response = Response(status: .ok, body: .init(data: Data(Self.pixel)))
        response.headers.contentType = HTTPMediaType(type: "image", subType: "gif")
        response.headers.cacheControl = .init(noStore: true)
        return response
    }
}

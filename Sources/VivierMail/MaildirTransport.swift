import Foundation

/// Delivers into a Maildir (`tmp/`, `new/`, `cur/`) instead of the network: the embedded default, so every message
/// Vivier sends can be read in the UI. Each file is written under `tmp/`, synced, then renamed into `new/`, the
/// Maildir way to never show half a message.
public struct MaildirTransport: MailTransport {
    public let directory: URL

    public init(directory: URL) throws {
        self.directory = directory
        for sub in ["tmp", "new", "cur"] {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
    }

    public func send(_ envelope: Envelope) async -> SMTPOutcome {
        // What a local delivery agent adds: who the envelope was from and to.
        let trace =
            "Return-Path: <\(envelope.sender)>\r\n" + envelope.recipients.map { "Delivered-To: <\($0)>\r\n" }.joined()
        let name = "\(Int(Date().timeIntervalSince1970)).\(UUID().uuidString.lowercased()).vivier"
        let temporary = directory.appendingPathComponent("tmp").appendingPathComponent(name)
        let final = directory.appendingPathComponent("new").appendingPathComponent(name)
        do {
            guard
                FileManager.default.createFile(
                    atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                return .transientFailure("cannot write to \(directory.path)")
            }
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: Array(trace.utf8) + envelope.data)
            try handle.synchronize()
            try handle.close()
            try FileManager.default.moveItem(at: temporary, to: final)
            return .sent(SMTPReply(code: 250, lines: ["2.0.0 stored in Maildir as \(name)"]))
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            return .transientFailure("Maildir: \(error)")
        }
    }

    public func shutdown() async {}
}

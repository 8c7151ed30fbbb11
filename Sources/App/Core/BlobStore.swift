import Crypto
import Foundation
import Vapor

/// Where uploaded files live. Names are generated (ASVS 5.3.2): a user's file name never reaches the file system.
protocol BlobStore: Sendable {
    func put(_ bytes: [UInt8]) throws -> String
    func get(_ key: String) throws -> [UInt8]
    func delete(_ key: String) throws
}

struct FileBlobStore: BlobStore {
    let directory: URL

    init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func put(_ bytes: [UInt8]) throws -> String {
        let key = UUID().uuidString.lowercased()
        let final = directory.appendingPathComponent(key)
        // Write to a temporary name, fsync, then rename: a crash never leaves a half file under a real key.
        let temporary = directory.appendingPathComponent(".\(key).tmp")
        let created = FileManager.default.createFile(
            atPath: temporary.path, contents: nil, attributes: [.posixPermissions: 0o600])
        guard created, let handle = try? FileHandle(forWritingTo: temporary) else {
            throw Abort(.internalServerError, reason: "cannot write to \(directory.path)")
        }
        do {
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
            try handle.close()
            try FileManager.default.moveItem(at: temporary, to: final)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        return key
    }

    func get(_ key: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path(key).path) else {
            throw Abort(.notFound)
        }
        return Array(data)
    }

    func delete(_ key: String) throws {
        let file = path(key)
        if FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.removeItem(at: file)
        }
    }

    func path(_ key: String) -> URL {
        // Keys are UUIDs we made; anything else is refused rather than joined to a path.
        precondition(UUID(uuidString: key) != nil, "blob keys are generated UUIDs")
        return directory.appendingPathComponent(key)
    }
}

extension Application {
    private struct BlobKey: StorageKey {
        typealias Value = any BlobStore
    }

    var blobs: any BlobStore {
        get {
            guard let store = storage[BlobKey.self] else { fatalError("blob store not configured") }
            return store
        }
        set { storage[BlobKey.self] = newValue }
    }
}

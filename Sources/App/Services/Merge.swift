import Fluent
import Vapor

/// Merging two records of one person. Everything moves to the kept record except the consent ledger, which is
/// append-only: the merged record stays as a shell pointing to the kept one, so its consent events still count.
enum Merge {
    static func run(from sourceID: UUID, into targetID: UUID, actorID: UUID?, now: Date, on db: any Database)
        async throws
    {
        try await db.transaction { db in
            guard let source = try await Candidate.find(sourceID, on: db),
                let target = try await Candidate.find(targetID, on: db)
            else {
                throw Abort(.notFound)
            }
            let targetJobs = Set(
                try await JobApplication.query(on: db).filter(\.$candidate.$id == targetID).all().compactMap(\.$job.id))
            for application in try await JobApplication.query(on: db).filter(\.$candidate.$id == sourceID).all() {
                if let jobID = application.$job.id, targetJobs.contains(jobID) {
                    // Both applied to the same job: keep the kept record's application, fold the other's history in.
                    let kept = try await JobApplication.query(on: db).filter(\.$candidate.$id == targetID).filter(
                        \.$job.$id == jobID
                    ).first()
                    try await Interaction.query(on: db).filter(\.$application.$id == application.requireID()).set(
                        \.$application.$id, to: kept?.id
                    ).update()
                    try await Document.query(on: db).filter(\.$application.$id == application.requireID()).set(
                        \.$application.$id, to: kept?.id
                    ).update()
                    try await application.delete(on: db)
                } else {
                    application.$candidate.id = targetID
                    try await application.save(on: db)
                }
            }
            try await Interaction.query(on: db).filter(\.$candidate.$id == sourceID).set(\.$candidate.$id, to: targetID)
                .update()
            try await Note.query(on: db).filter(\.$candidate.$id == sourceID).set(\.$candidate.$id, to: targetID)
                .update()
            try await Document.query(on: db).filter(\.$candidate.$id == sourceID).set(\.$candidate.$id, to: targetID)
                .update()
            let targetTags = Set(
                try await CandidateTag.query(on: db).filter(\.$candidate.$id == targetID).all().map(\.$tag.id))
            for link in try await CandidateTag.query(on: db).filter(\.$candidate.$id == sourceID).all() {
                if targetTags.contains(link.$tag.id) {
                    try await link.delete(on: db)
                } else {
                    link.$candidate.id = targetID
                    try await link.save(on: db)
                }
            }
            if target.phone.isEmpty { target.phone = source.phone }
            target.lastActiveContactAt = [target.lastActiveContactAt, source.lastActiveContactAt].compactMap { $0 }
                .max()
            try await target.save(on: db)
            source.$mergedInto.id = targetID
            try await source.save(on: db)
            try await ConsentLedger.refresh(sourceID, on: db)
            try await ConsentLedger.refresh(targetID, on: db)
            try await Interaction(
                candidateID: targetID, applicationID: nil, actorID: actorID, kind: .merged, detail: source.email,
                at: now
            ).create(on: db)
        }
        try await SearchIndex.remove(candidateID: sourceID, on: db)
        try await SearchIndex.refresh(candidateID: targetID, on: db)
    }
}

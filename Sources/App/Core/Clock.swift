import NIOConcurrencyHelpers
import Vapor

/// The time source. Injected so that timeouts, rate limits and (later) retention and SLA rules are tested by moving
/// a clock, never by sleeping.
protocol AppClock: Sendable {
    func now() -> Date
}

struct SystemClock: AppClock {
    func now() -> Date { Date() }
}

/// A clock tests move by hand.
final class ManualClock: AppClock, @unchecked Sendable {
    private let lock = NIOLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_790_000_000)) { current = start }

    func now() -> Date { lock.withLock { current } }

    func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}

extension Application {
    private struct ClockKey: StorageKey {
        typealias Value = any AppClock
    }

    var clock: any AppClock {
        get { storage[ClockKey.self] ?? SystemClock() }
        set { storage[ClockKey.self] = newValue }
    }
}

extension Request {
    var now: Date { application.clock.now() }
}

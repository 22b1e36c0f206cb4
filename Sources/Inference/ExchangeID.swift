/// Names one exchange (a user message and its reply) in the model's context, so that a job acts on the
/// exchange it means ("take back this one", "go on with this reply") and never on whatever happens to
/// be last. The chat gives each exchange the id of its user message; the engine reports which exchanges
/// its context holds after every job that changes it.
public struct ExchangeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) { self.value = value }
    public static func < (a: ExchangeID, b: ExchangeID) -> Bool { a.value < b.value }
    public var description: String { "exchange \(value)" }
}

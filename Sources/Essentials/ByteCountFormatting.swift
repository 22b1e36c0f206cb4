import Foundation

/// A byte count as people read it ("491.4 MiB", "3.25 GiB"); a Double so estimates of hostile shapes fit.
public func formatBytes(_ n: Double) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where n >= Double(1 << shift) {
        return String(format: shift >= 30 ? "%.2f " : "%.1f ", n / Double(1 << shift)) + unit
    }
    return "\(Int(n)) B"
}

public func formatBytes(_ n: Int) -> String { formatBytes(Double(n)) }

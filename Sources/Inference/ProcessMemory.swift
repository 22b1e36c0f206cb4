#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Resident memory of this process, from Linux `/proc` (what `top` shows as RES).
public enum ProcessMemory {
    /// Current resident set size in bytes (`/proc/self/statm`, second field, in pages).
    public static var residentBytes: Int {
        guard let text = readProcFile("/proc/self/statm") else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Peak resident set size in bytes (`VmHWM` in `/proc/self/status`).
    public static var peakResidentBytes: Int {
        statusField("VmHWM:") ?? 0
    }

    /// Memory the system could still give (`MemAvailable` in `/proc/meminfo`).
    public static var availableBytes: Int {
        guard let text = readProcFile("/proc/meminfo") else { return 0 }
        return kilobytes(after: "MemAvailable:", in: text) ?? 0
    }

    private static func statusField(_ name: String) -> Int? {
        guard let text = readProcFile("/proc/self/status") else { return nil }
        return kilobytes(after: name, in: text)
    }

    private static func kilobytes(after name: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.dropFirst(name.count).filter(\.isNumber)
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }

    private static func readProcFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0 ..< n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

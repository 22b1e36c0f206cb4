import Foundation

/// A program run to its end by a test: exit status and what it wrote.
struct ProcessOutput {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Runs `executable` in `directory`, feeding it `stdin` (or nothing) and collecting both outputs.
    static func run(_ executable: URL, _ arguments: [String], stdin: String? = nil, in directory: URL) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessOutput(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                             stderr: String(decoding: stderrData, as: UTF8.self))
    }
}

import Foundation

/// Runs the built `prunekit` executable in a child process, for cases an in-process call cannot survive
/// (a trap, SIGKILL) or where the exit status itself is under test.
enum CLIProcess {
    /// The `prunekit` executable built next to the test bundle.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("prunekit").path
    }

    /// How a finished run ended.
    struct Outcome {
        /// The exit status, or the signal number when `signaled`.
        var status: Int32
        /// True when the process was ended by a signal (a trap, SIGKILL) rather than by exiting.
        var signaled: Bool
        /// Everything it wrote to standard error.
        var standardError: String

        /// The lines starting with `Error: ` — what ArgumentParser prints for a thrown error.
        var errorLines: [String] { standardError.split(separator: "\n").map(String.init).filter { $0.hasPrefix("Error: ") } }
    }

    /// Starts `prunekit arguments`, with the Swift runtime's crash reporter off so a trap ends it at once.
    /// `environment` entries are added to (or replace) this process's; `directory` is the working directory.
    static func start(
        _ arguments: [String], standardError: FileHandle? = nil, environment extra: [String: String] = [:], directory: String? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = standardError ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `prunekit arguments` to completion (at most `timeout` seconds, then SIGKILL).
    static func run(
        _ arguments: [String], timeout: TimeInterval = 300, environment: [String: String] = [:], directory: String? = nil
    ) throws -> Outcome {
        let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("prunekit-stderr-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let errorHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        let process = try start(arguments, standardError: errorHandle, environment: environment, directory: directory)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(2000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try errorHandle.close()
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: errorPath)), as: UTF8.self)
        return Outcome(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal, standardError: text)
    }
}

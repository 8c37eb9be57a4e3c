import Foundation
import PruneTensor
import Testing

/// Two ranks as two hosts: each in its own network namespace (`ip netns`), joined by a veth pair, so MPI's
/// launch and its all-reduces travel over TCP between two addresses as between two machines (mpirun reaches the
/// second "host" through an rsh agent that enters its namespace). Needs root and `ip` (Debian: iproute2); on a
/// machine that does not allow network namespaces the test says so and checks nothing else.
@Suite(.serialized) struct TwoHostPruneTests {
    /// Runs `arguments` to completion; returns the exit status and everything written to standard error.
    @discardableResult
    static func shell(_ arguments: [String], timeout: TimeInterval = 300) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let path = DataParallelPruneTests.temporaryPath("shell")
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(2000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
    }

    @Test("Two ranks in two network namespaces learn the single process's λ and masks over TCP")
    func twoHosts() throws {
        guard getuid() == 0, (try? Self.shell(["ip", "-V"]))?.status == 0 else {
            print("TwoHostPruneTests: needs root and iproute2; not run on this machine")
            return
        }
        let tag = String(getpid() % 100_000)
        let (first, second) = ("pk\(tag)a", "pk\(tag)b")
        let (firstAddress, secondAddress) = ("10.199.\(getpid() % 200).1", "10.199.\(getpid() % 200).2")
        defer {
            _ = try? Self.shell(["ip", "netns", "del", first])
            _ = try? Self.shell(["ip", "netns", "del", second])
        }
        guard try Self.shell(["ip", "netns", "add", first]).status == 0 else {
            print("TwoHostPruneTests: this machine does not allow network namespaces; not run")
            return
        }
        for command in [
            ["ip", "netns", "add", second],
            ["ip", "link", "add", "\(first)v", "type", "veth", "peer", "name", "\(second)v"],
            ["ip", "link", "set", "\(first)v", "netns", first], ["ip", "link", "set", "\(second)v", "netns", second],
            ["ip", "-n", first, "addr", "add", firstAddress + "/24", "dev", "\(first)v"],
            ["ip", "-n", second, "addr", "add", secondAddress + "/24", "dev", "\(second)v"],
            ["ip", "-n", first, "link", "set", "\(first)v", "up"], ["ip", "-n", second, "link", "set", "\(second)v", "up"],
            ["ip", "-n", first, "link", "set", "lo", "up"], ["ip", "-n", second, "link", "set", "lo", "up"],
        ] {
            let result = try Self.shell(command)
            try #require(result.status == 0, "\(command.joined(separator: " ")): \(result.output)")
        }
        // mpirun starts the remote daemon through this agent: `agent HOST COMMAND…`, run inside HOST's namespace.
        let agent = DataParallelPruneTests.temporaryPath("rsh-agent.sh")
        try """
            #!/bin/sh
            host="$1"; shift
            case "$host" in
              \(firstAddress)) ns=\(first) ;;
              \(secondAddress)) ns=\(second) ;;
              *) echo "unknown host $host" >&2; exit 1 ;;
            esac
            exec ip netns exec "$ns" /bin/sh -c "$*"
            """.write(toFile: agent, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: agent) }
        try #require(chmod(agent, 0o755) == 0)

        let single = DataParallelPruneTests.temporaryPath("one-host")
        let hosts = DataParallelPruneTests.temporaryPath("two-hosts")
        defer {
            for path in [single, hosts] {
                try? FileManager.default.removeItem(atPath: path)
                try? FileManager.default.removeItem(atPath: path + ".scores.safetensors")
            }
        }
        let reference = try CLIProcess.run(DataParallelPruneTests.arguments(criterion: "ecodiff", out: single))
        try #require(reference.status == 0, "\(reference.standardError)")
        let subnet = firstAddress.split(separator: ".").prefix(3).joined(separator: ".") + ".0/24"
        let run = try Self.shell(
            [
                "ip", "netns", "exec", first, try #require(DataParallelPruneTests.mpirun), "--allow-run-as-root", "-np", "2",
                "--host", "\(firstAddress):1,\(secondAddress):1", "--mca", "plm_rsh_agent", agent, "--mca", "btl", "tcp,self",
                "--mca", "btl_tcp_if_include", subnet, "--mca", "oob_tcp_if_include", subnet, "-x", "PATH", "-x", "SWIFT_BACKTRACE=enable=no",
                CLIProcess.executable,
            ] + DataParallelPruneTests.arguments(criterion: "ecodiff", out: hosts))
        try #require(run.status == 0, "\(run.output)")
        #expect(run.output.contains("data-parallel run: 2 ranks"))
        #expect(try DataParallelPruneTests.tensors(hosts + ".scores.safetensors") == DataParallelPruneTests.tensors(single + ".scores.safetensors"))
        #expect(try DataParallelPruneTests.tensors(hosts + "/masks.safetensors") == DataParallelPruneTests.tensors(single + "/masks.safetensors"))
    }
}

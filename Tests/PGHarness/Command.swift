import Foundation

/// Runs a program to completion and returns its standard output; throws with its output
/// when it exits non-zero.
public struct CommandFailure: Error, CustomStringConvertible {
    public var command: [String]
    public var status: Int32
    public var output: String
    public var description: String { "\(command.joined(separator: " ")) exited \(status):\n\(output)" }
}

/// Runs `command` (looked up on PATH) with posix_spawn and waitpid. Foundation's Process
/// is not used: on Linux its waitUntilExit can hang once a server that pg_ctl started
/// has inherited its descriptors. Output goes to a file for the same reason.
@discardableResult
public func run(_ command: [String], environment: [String: String] = [:]) throws -> String {
    let outputPath = FileManager.default.temporaryDirectory
        .appendingPathComponent("augur-command-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: outputPath) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)

    let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
    let argv = command.map { strdup($0) } + [nil]
    let envp = variables.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }

    var pid = pid_t()
    let spawned = posix_spawnp(&pid, command[0], &actions, nil, argv, envp)
    guard spawned == 0 else {
        throw CommandFailure(command: command, status: spawned, output: String(cString: strerror(spawned)))
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    guard exitCode == 0 else {
        throw CommandFailure(command: command, status: exitCode, output: output)
    }
    return output
}

/// Where the PostgreSQL programs are: `pg_config --bindir`, or that of $PG_CONFIG.
public let postgresBinDirectory = pgConfig("--bindir", orElse: "/usr/lib/postgresql/15/bin")

/// Where the server's loadable libraries are (`pg_config --pkglibdir`).
public let postgresLibraryDirectory = pgConfig("--pkglibdir", orElse: "/usr/lib/postgresql/15/lib")

private func pgConfig(_ option: String, orElse fallback: String) -> String {
    let pgConfig = ProcessInfo.processInfo.environment["PG_CONFIG"] ?? "pg_config"
    let output = (try? run([pgConfig, option])) ?? fallback
    return output.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// PostgreSQL refuses to run as root; when the tests do, the server runs as `postgres`.
let serverUser: String? = geteuid() == 0 ? "postgres" : nil

func asServerUser(_ command: [String]) -> [String] {
    guard let serverUser else { return command }
    return ["runuser", "-u", serverUser, "--"] + command
}

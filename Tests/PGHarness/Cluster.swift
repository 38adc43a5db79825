import Foundation

/// A throwaway PostgreSQL cluster: initdb into a temporary directory, a free loopback
/// port, Augur preloaded unless told otherwise. Stop it with `stop()` (ClusterTestCase
/// does so after every test, even a failing one).
public final class Cluster {
    public struct Options {
        /// shared_preload_libraries, in order.
        public var preload: [String] = ["augur"]
        /// Extra postgresql.conf settings, written verbatim (quote string values yourself).
        public var settings: [String: String] = [:]

        public init(preload: [String] = ["augur"], settings: [String: String] = [:]) {
            self.preload = preload
            self.settings = settings
        }
    }

    public let directory: URL
    public let port: Int
    public var dataDirectory: String { directory.appendingPathComponent("data").path }
    public var logPath: String { directory.appendingPathComponent("server.log").path }
    public var conninfo: String { conninfo(database: "postgres") }
    /// Set by a test that makes a server process crash on purpose (such as a killed worker).
    public var crashIsExpected = false

    public init(_ options: Options = Options()) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("augur-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        let dataDirectory = directory.appendingPathComponent("data").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let serverUser { try run(["chown", serverUser, directory.path]) }
        try run(asServerUser(["\(postgresBinDirectory)/initdb", "-D", dataDirectory, "-A", "trust",
                              "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]))
        self.directory = directory
        port = try freeLoopbackPort()
        var conf = """

            # added by the Augur test harness
            port = \(port)
            listen_addresses = '127.0.0.1'
            unix_socket_directories = '\(directory.path)'
            shared_preload_libraries = '\(options.preload.joined(separator: ","))'
            fsync = off
            log_line_prefix = '%m [%p] '

            """
        for (name, value) in options.settings.sorted(by: { $0.key < $1.key }) {
            conf += "\(name) = \(value)\n"
        }
        let confFile = FileHandle(forWritingAtPath: "\(dataDirectory)/postgresql.conf")!
        confFile.seekToEndOfFile()
        confFile.write(Data(conf.utf8))
        try confFile.close()
        try start()
        // The collector's first cycle runs as soon as it starts. Let it finish before the
        // test goes on, so that it cannot flush concurrently with the test's own
        // augur.flush() calls (tests that sleep the worker with a long augur.naptime then
        // have the capture to themselves).
        if options.preload.contains("augur"), options.settings["augur.database"] == nil {
            let db = try connect()
            _ = try waitUntil(timeout: 30) {
                try db.scalar("SELECT state FROM pg_stat_activity WHERE application_name = 'augur collector'") == "idle"
            }
        }
    }

    public func conninfo(database: String, user: String = "postgres") -> String {
        "host=127.0.0.1 port=\(port) user=\(user) dbname=\(database) connect_timeout=10"
    }

    public func connect(database: String = "postgres", user: String = "postgres") throws -> Connection {
        try Connection(conninfo: conninfo(database: database, user: user))
    }

    public func start() throws {
        try run(asServerUser(["\(postgresBinDirectory)/pg_ctl", "-D", dataDirectory, "-l", logPath,
                              "-w", "-t", "60", "start"]))
    }

    /// Stops the server (fast shutdown). Safe to call twice.
    public func stop() {
        _ = try? run(asServerUser(["\(postgresBinDirectory)/pg_ctl", "-D", dataDirectory, "-m", "fast",
                                   "-w", "-t", "60", "stop"]))
    }

    public func restart() throws {
        try run(asServerUser(["\(postgresBinDirectory)/pg_ctl", "-D", dataDirectory, "-l", logPath,
                              "-m", "fast", "-w", "-t", "60", "restart"]))
    }

    /// Removes the cluster's directory; call after `stop()`.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    public var serverLog: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Lines of the server log that show a server process crashing.
    public var crashLines: [String] {
        serverLog.split(separator: "\n").map(String.init).filter {
            $0.contains("terminated by signal") || $0.contains("was terminated by exception")
                || $0.contains("terminating any other active server processes")
        }
    }

    /// Runs pgbench against this cluster's postgres database and returns its output.
    @discardableResult
    public func pgbench(_ arguments: [String]) throws -> String {
        try run(["\(postgresBinDirectory)/pgbench", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]
                + arguments + ["postgres"])
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` seconds pass.
    public func waitUntil(timeout: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CommandFailure(command: ["socket"], status: errno, output: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw CommandFailure(command: ["bind"], status: errno, output: "bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

import CLibpq
import Foundation

/// An error the server returned (or a failure to talk to it), with its SQLSTATE.
public struct ServerError: Error, CustomStringConvertible {
    public var sqlstate: String
    public var message: String
    public var detail: String?
    public var hint: String?

    public var description: String {
        "\(sqlstate): \(message)" + (detail.map { " DETAIL: \($0)" } ?? "") + (hint.map { " HINT: \($0)" } ?? "")
    }
}

/// A libpq connection. Rows come back in text form, nil for NULL.
public final class Connection {
    private let conn: OpaquePointer
    /// Every NOTICE (and WARNING) the server sent, primary message only, oldest first.
    public private(set) var notices: [String] = []

    public init(conninfo: String) throws {
        guard let conn = PQconnectdb(conninfo) else {
            throw ServerError(sqlstate: "08006", message: "PQconnectdb returned NULL")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn))
            PQfinish(conn)
            throw ServerError(sqlstate: "08006", message: message)
        }
        self.conn = conn
        PQsetNoticeReceiver(conn, { context, result in
            guard let context, let result,
                  let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))) else { return }
            Unmanaged<Connection>.fromOpaque(context).takeUnretainedValue().notices.append(String(cString: message))
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { PQfinish(conn) }

    public var backendPID: Int32 { PQbackendPID(conn) }

    /// Runs one or more statements; returns the rows of the last one.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        let result: OpaquePointer?
        if parameters.isEmpty {
            result = PQexec(conn, sql)
        } else {
            result = withCStringArray(parameters) { values in
                PQexecParams(conn, sql, Int32(values.count), nil, values, nil, nil, 0)
            }
        }
        return try rows(of: result)
    }

    /// The first column of the first row, or nil.
    public func scalar(_ sql: String, _ parameters: [String?] = []) throws -> String? {
        try query(sql, parameters).first?.first ?? nil
    }

    /// Sends a query without waiting; collect its outcome with `finish()`.
    public func send(_ sql: String) throws {
        guard PQsendQuery(conn, sql) == 1 else {
            throw ServerError(sqlstate: "08006", message: String(cString: PQerrorMessage(conn)))
        }
    }

    /// Waits for the query started by `send` and returns the rows of its last result.
    @discardableResult
    public func finish() throws -> [[String?]] {
        var outcome: Result<[[String?]], Error> = .success([])
        while let result = PQgetResult(conn) {
            let rows = Result { try self.rows(of: result) }
            if case .success = outcome { outcome = rows }
        }
        return try outcome.get()
    }

    private func rows(of result: OpaquePointer?) throws -> [[String?]] {
        guard let result else {
            throw ServerError(sqlstate: "08006", message: String(cString: PQerrorMessage(conn)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return []
        case PGRES_TUPLES_OK:
            let rowCount = PQntuples(result), columnCount = PQnfields(result)
            return (0..<rowCount).map { row in
                (0..<columnCount).map { column in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                }
            }
        default:
            func field(_ code: Int32) -> String? {
                PQresultErrorField(result, code).map { String(cString: $0) }
            }
            throw ServerError(sqlstate: field(Int32(UInt8(ascii: "C"))) ?? "?????",
                              message: field(Int32(UInt8(ascii: "M"))) ?? String(cString: PQerrorMessage(conn)),
                              detail: field(Int32(UInt8(ascii: "D"))),
                              hint: field(Int32(UInt8(ascii: "H"))))
        }
    }
}

private func withCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0)! } }
    defer { copies.forEach { free($0) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}

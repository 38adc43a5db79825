/// One captured lineage edge: a written column and a column (or COPY input field) it
/// comes from. The shim keeps row-deciding edges once per query and target relation,
/// with `targetAttnum == LineageEdge.allWritten`; `expandingAllWritten` turns those into
/// one edge per written column before they are stored.
public struct LineageEdge: Hashable, Sendable {
    /// AUGUR_LINEAGE_ALL_WRITTEN: "every column this query writes to the target".
    public static let allWritten: Int16 = 0

    /// Where the source value comes from: AUGUR_SOURCE_* in augur_shim.h.
    public enum Source: UInt8, Sendable {
        case relation = 0, file, program, stdin
    }

    public var targetRelid: UInt32
    public var targetAttnum: Int16
    public var sourceRelid: UInt32
    public var sourceAttnum: Int16
    public var subtype: LineageSubtype
    public var source: Source

    public init(targetRelid: UInt32, targetAttnum: Int16, sourceRelid: UInt32, sourceAttnum: Int16,
                subtype: LineageSubtype, source: Source = .relation) {
        self.targetRelid = targetRelid
        self.targetAttnum = targetAttnum
        self.sourceRelid = sourceRelid
        self.sourceAttnum = sourceAttnum
        self.subtype = subtype
        self.source = source
    }

    /// How a COPY input field is named in `augur.lineage_edge.source_column`:
    /// "stdin:2" is the second field read from stdin; nil for a relation's column, whose
    /// name the catalog gives.
    public var sourceLabel: String? {
        switch source {
        case .relation: nil
        case .file: "file:\(sourceAttnum)"
        case .program: "program:\(sourceAttnum)"
        case .stdin: "stdin:\(sourceAttnum)"
        }
    }

    /// The edges of one query with each "all written" edge replaced by one edge per
    /// column the query writes to that relation: the `written` columns, and every column
    /// that has an edge of its own. Order is kept, duplicates dropped.
    public static func expandingAllWritten(_ edges: [LineageEdge],
                                           written: [(relid: UInt32, attnum: Int16)]) -> [LineageEdge] {
        var columns: [UInt32: [Int16]] = [:]
        for column in written where column.attnum > 0 { columns[column.relid, default: []].append(column.attnum) }
        for edge in edges where edge.targetAttnum != allWritten {
            columns[edge.targetRelid, default: []].append(edge.targetAttnum)
        }
        var seen = Set<LineageEdge>()
        var result: [LineageEdge] = []
        for edge in edges {
            let targets = edge.targetAttnum == allWritten ? columns[edge.targetRelid, default: []] : [edge.targetAttnum]
            for attnum in targets {
                var expanded = edge
                expanded.targetAttnum = attnum
                if seen.insert(expanded).inserted { result.append(expanded) }
            }
        }
        return result
    }
}

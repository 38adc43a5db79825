/// OpenLineage's column-lineage transformation subtypes, as the shim encodes them
/// (AUGUR_LINEAGE_* in augur_shim.h): DIRECT ones say how a value is derived, INDIRECT
/// ones which columns decide the rows written (or, for WINDOW and CONDITIONAL, shape one
/// column's value without being part of it).
public enum LineageSubtype: UInt8, Sendable, CaseIterable {
    case identity = 0, transformation, aggregation, filter, join, groupBy, sort, window, conditional

    /// "DIRECT" or "INDIRECT".
    public var kind: String {
        switch self {
        case .identity, .transformation, .aggregation: "DIRECT"
        case .filter, .join, .groupBy, .sort, .window, .conditional: "INDIRECT"
        }
    }

    /// The OpenLineage name: IDENTITY, TRANSFORMATION, AGGREGATION, FILTER, JOIN, GROUP_BY,
    /// SORT, WINDOW, CONDITIONAL.
    public var name: String {
        switch self {
        case .identity: "IDENTITY"
        case .transformation: "TRANSFORMATION"
        case .aggregation: "AGGREGATION"
        case .filter: "FILTER"
        case .join: "JOIN"
        case .groupBy: "GROUP_BY"
        case .sort: "SORT"
        case .window: "WINDOW"
        case .conditional: "CONDITIONAL"
        }
    }
}

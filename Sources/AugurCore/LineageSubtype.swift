/// OpenLineage's column-lineage transformation subtypes, as the shim encodes them
/// (AUGUR_LINEAGE_* in augur_shim.h): DIRECT ones say how a value is derived, INDIRECT
/// ones which columns decide the rows written.
public enum LineageSubtype: UInt8, Sendable, CaseIterable {
    case identity = 0, transformation, aggregation, filter, join, groupBy, sort

    /// "DIRECT" or "INDIRECT".
    public var kind: String {
        switch self {
        case .identity, .transformation, .aggregation: "DIRECT"
        case .filter, .join, .groupBy, .sort: "INDIRECT"
        }
    }

    /// The OpenLineage name: IDENTITY, TRANSFORMATION, AGGREGATION, FILTER, JOIN, GROUP_BY, SORT.
    public var name: String {
        switch self {
        case .identity: "IDENTITY"
        case .transformation: "TRANSFORMATION"
        case .aggregation: "AGGREGATION"
        case .filter: "FILTER"
        case .join: "JOIN"
        case .groupBy: "GROUP_BY"
        case .sort: "SORT"
        }
    }
}

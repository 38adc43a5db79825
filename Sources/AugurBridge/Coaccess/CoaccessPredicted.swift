import AugurCore
import CShim

/// augur.coaccess_predicted(): the co-access graph from augur.coaccess(level), scored by
/// the core, handed back to C as JSON text in memory C owns.
@_cdecl("augur_swift_coaccess_predicted")
func augurSwiftCoaccessPredicted(_ k: Int32, _ level: UnsafePointer<CChar>, _ method: UnsafePointer<CChar>,
                                 _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                                 _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        guard k > 0 else {
            throw PGError(sqlstate: .invalidParameterValue, message: "k must be at least 1, not \(k)")
        }
        let methodName = String(cString: method)
        guard let scoring = CoaccessGraph.Method(rawValue: methodName) else {
            throw PGError(sqlstate: .invalidParameterValue, message: "scoring method \"\(methodName)\" does not exist",
                          hint: "Use " + CoaccessGraph.Method.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ") + ".")
        }
        let rows = try SPI.query("SELECT relation_a, relation_b, weight FROM augur.coaccess($1)", [String(cString: level)])
        let graph = CoaccessGraph(edges: rows.compactMap { row in
            guard let a = row["relation_a"]?.text, let b = row["relation_b"]?.text,
                  let weight = row["weight"]?.double else { return nil }
            return (a, b, weight)
        })
        let text = JSONText.array(of: graph.predicted(k: Int(k), method: scoring).map {
            [("relation_a", JSONText.string($0.a)), ("relation_b", JSONText.string($0.b)),
             ("score", JSONText.number($0.score)), ("shared_neighbours", String($0.sharedNeighbours))]
        })
        return try hand(text, to: json)
    }
}

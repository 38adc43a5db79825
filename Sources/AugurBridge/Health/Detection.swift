import AugurCore
import CShim

/// `augur.detect`: the detector run over a series given to it.
enum Detection {
    static let methods = ["robust"]

    /// JSON: each value's score, and the threshold from which `augur.detect` calls it an
    /// anomaly.
    static func run(_ values: [Double], method: String?) throws -> String {
        guard method.map(methods.contains) ?? true else {
            throw PGError(sqlstate: .invalidParameterValue, message: "unknown method \"\(method ?? "")\"",
                          hint: "Methods: \(methods.joined(separator: ", ")); NULL picks robust.")
        }
        guard let bad = values.firstIndex(where: { !$0.isFinite }) else {
            let scores = AnomalyDetector.scores(values)
            return JSONText.object([("threshold", JSONText.number(AnomalyDetector.alarmThreshold)),
                                    ("scores", "[" + scores.map(JSONText.number).joined(separator: ",") + "]")])
        }
        throw PGError(sqlstate: .invalidParameterValue, message: "v[\(bad + 1)] is \(values[bad]), not a finite number")
    }
}

@_cdecl("augur_swift_detect")
func augurSwiftDetect(_ values: UnsafePointer<Double>, _ count: Int32, _ method: UnsafePointer<CChar>?,
                      _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                      _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try hand(try Detection.run(Array(UnsafeBufferPointer(start: values, count: Int(max(count, 0)))),
                                   method: method.map { String(cString: $0) }), to: json)
    }
}

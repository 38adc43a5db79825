// The anomaly detector outside the server, for tuning it on a whole corpus quickly: reads
// one series per line of stdin (its values, comma-separated) and prints each series'
// scores the same way, one line per series. bench/anomaly/nab.py --cli runs it; without
// --cli the benchmark goes through augur.detect on a real server.
import AugurCore
import Foundation  // links libm for the core, as the server does for augur.so

// AUGUR_DETECTOR="window=300,alarm=0.999,..." overrides parameters while tuning.
var parameters = AnomalyDetector.Parameters()
for setting in (ProcessInfo.processInfo.environment["AUGUR_DETECTOR"] ?? "").split(separator: ",") {
    let parts = setting.split(separator: "=")
    guard parts.count == 2, let value = Double(parts[1]) else { continue }
    switch parts[0] {
    case "window": parameters.window = Int(value)
    case "warmUp": parameters.warmUp = Int(value)
    case "quietValues": parameters.quietValues = Int(value)
    case "quietShare": parameters.quietShare = value
    case "alarm": parameters.alarm = value
    default: break
    }
}
while let line = readLine() {
    let values = line.split(separator: ",").compactMap { Double($0) }
    print(AnomalyDetector.scores(values, parameters: parameters).map { String($0) }.joined(separator: ","))
}

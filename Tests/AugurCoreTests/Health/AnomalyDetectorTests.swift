import AugurCore
import XCTest

final class AnomalyDetectorTests: XCTestCase {
    /// A daily-looking wave with a little deterministic noise.
    private func wave(_ count: Int) -> [Double] {
        var random = SplitMix64(state: 7)
        return (0..<count).map { 50 + 10 * sin(Double($0) / 15) + Double(random.below(100)) / 50 }
    }

    func testASpikeAlarmsAndTheQuietValuesBeforeItDoNot() {
        var series = wave(1000)
        series[700] += 100
        let scores = AnomalyDetector.scores(series)
        XCTAssertGreaterThanOrEqual(scores[700], AnomalyDetector.alarmThreshold)
        XCTAssertEqual(scores.prefix(700).filter { $0 >= AnomalyDetector.alarmThreshold }.count, 0)
        let warmUp = AnomalyDetector.Parameters().warmUp
        XCTAssertEqual(Array(scores.prefix(warmUp)), [Double](repeating: 0, count: warmUp), "no score while it learns the series")
    }

    func testALevelShiftAlarmsAtOnceAndThenKeepsQuiet() {
        var series = wave(1000)
        for index in 600..<1000 { series[index] += 80 }
        let scores = AnomalyDetector.scores(series)
        let first = scores.firstIndex { $0 >= AnomalyDetector.alarmThreshold }
        XCTAssertNotNil(first)
        XCTAssertEqual(first, 600)
        let quiet = AnomalyDetector.Parameters().quietValues
        let start = (first ?? 0) + 1
        XCTAssertTrue(scores[start..<(start + quiet)].allSatisfy { $0 == 0 }, "one alarm, not one a value")
    }

    func testTheNormalDistributionNeverTraps() {
        XCTAssertEqual(AnomalyDetector.normalCDF(0), 0.5, accuracy: 1e-7)
        XCTAssertEqual(AnomalyDetector.normalCDF(1.959964), 0.975, accuracy: 1e-6)
        XCTAssertEqual(AnomalyDetector.normalCDF(-1.959964), 0.025, accuracy: 1e-6)
        XCTAssertEqual(AnomalyDetector.normalCDF(1e300), 1)
        XCTAssertEqual(AnomalyDetector.normalCDF(-.infinity), 0)
        XCTAssertEqual(AnomalyDetector.scores([5, 5, 5, 5]), [0, 0, 0, 0])
        XCTAssertTrue(AnomalyDetector.scores([Double](repeating: 1, count: 100) + [1e300]).allSatisfy { (0...1).contains($0) })
    }
}

import AugurCore
import XCTest

final class ChangeVerificationTests: XCTestCase {
    /// `count` executions of about `milliseconds` each, as one cell.
    private func cells(_ milliseconds: Double, _ count: UInt64) -> LatencyCells {
        let nanoseconds = UInt64(milliseconds * 1e6)
        return LatencyCells(count == 0 ? [] : [.init(lowerNanoseconds: nanoseconds, upperNanoseconds: nanoseconds + nanoseconds / 100,
                                                      count: count)])
    }

    func testFasterIsVerifiedSlowerIsRolledBackAndTooFewCallsWait() {
        let faster = ChangeVerification.verdict([.init(queryid: 1, before: cells(10, 50), after: cells(1, 200))],
                                                minimumCalls: 100, threshold: 0.2)
        guard case .verified(let saved, let before, let after, let calls) = faster else { return XCTFail("\(faster)") }
        XCTAssertEqual(saved, 9, accuracy: 0.2)
        XCTAssertEqual(before, 10, accuracy: 0.1)
        XCTAssertEqual(after, 1, accuracy: 0.02)
        XCTAssertEqual(calls, 200)

        let slower = ChangeVerification.verdict([.init(queryid: 1, before: cells(10, 50), after: cells(13, 200))],
                                                minimumCalls: 100, threshold: 0.2)
        guard case .rollBack = slower else { return XCTFail("\(slower)") }
        let withinThreshold = ChangeVerification.verdict([.init(queryid: 1, before: cells(10, 50), after: cells(11, 200))],
                                                         minimumCalls: 100, threshold: 0.2)
        guard case .verified(let lost, _, _, _) = withinThreshold else { return XCTFail("\(withinThreshold)") }
        XCTAssertLessThan(lost, 0)

        XCTAssertEqual(ChangeVerification.verdict([.init(queryid: 1, before: cells(10, 50), after: cells(1, 99))],
                                                  minimumCalls: 100, threshold: 0.2), .pending(calls: 99))
    }

    /// The write that got slower counts by its executions: a read that got faster but runs
    /// rarely does not outweigh it.
    func testQueriesAreWeighedByTheirExecutionsSinceTheChange() {
        let verdict = ChangeVerification.verdict([
            .init(queryid: 1, before: cells(20, 10), after: cells(1, 10)),      // rare read, 20x faster
            .init(queryid: 2, before: cells(1, 500), after: cells(2, 1_000)),   // frequent insert, 2x slower
        ], minimumCalls: 100, threshold: 0.2)
        guard case .rollBack(let before, let after, let calls) = verdict else { return XCTFail("\(verdict)") }
        XCTAssertEqual(calls, 1_010)
        XCTAssertGreaterThan(after, before)
    }

    func testQueriesWithoutHistoryOnEitherSideSayNothing() {
        XCTAssertEqual(ChangeVerification.verdict([.init(queryid: 1, before: cells(10, 0), after: cells(50, 500)),
                                                   .init(queryid: 2, before: cells(10, 5), after: cells(50, 0))],
                                                  minimumCalls: 1, threshold: 0.2), .pending(calls: 0))
        XCTAssertEqual(ChangeVerification.verdict([], minimumCalls: 0, threshold: 0.2), .pending(calls: 0))
    }
}

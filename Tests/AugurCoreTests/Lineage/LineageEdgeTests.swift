import AugurCore
import XCTest

final class LineageEdgeTests: XCTestCase {
    private func edge(_ target: Int16, _ sourceAttnum: Int16, _ subtype: LineageSubtype, relid: UInt32 = 10) -> LineageEdge {
        LineageEdge(targetRelid: relid, targetAttnum: target, sourceRelid: 20, sourceAttnum: sourceAttnum, subtype: subtype)
    }

    func testAllWrittenEdgesGoToEveryWrittenColumnOfTheirRelation() {
        let edges = [edge(1, 1, .identity), edge(LineageEdge.allWritten, 3, .filter), edge(2, 4, .window),
                     edge(LineageEdge.allWritten, 5, .join, relid: 11)]
        // Column 3 of relation 10 is written with no source of its own (a constant).
        let expanded = LineageEdge.expandingAllWritten(edges, written: [(10, 1), (10, 3), (11, 7)])
        XCTAssertEqual(expanded, [edge(1, 1, .identity), edge(1, 3, .filter), edge(3, 3, .filter), edge(2, 3, .filter),
                                  edge(2, 4, .window), edge(7, 5, .join, relid: 11)])
    }

    func testAllWrittenEdgeWithNothingWrittenVanishes() {
        XCTAssertEqual(LineageEdge.expandingAllWritten([edge(LineageEdge.allWritten, 3, .filter)], written: []), [])
    }

    func testDuplicatesAfterExpansionAreDropped() {
        let edges = [edge(1, 3, .filter), edge(LineageEdge.allWritten, 3, .filter)]
        XCTAssertEqual(LineageEdge.expandingAllWritten(edges, written: [(10, 1)]), [edge(1, 3, .filter)])
    }

    func testCopyFieldsAreLabelledByTheirInput() {
        var copy = edge(2, 3, .identity)
        XCTAssertNil(copy.sourceLabel)
        copy.source = .stdin
        XCTAssertEqual(copy.sourceLabel, "stdin:3")
        copy.source = .program
        XCTAssertEqual(copy.sourceLabel, "program:3")
    }

    func testSubtypeKinds() {
        XCTAssertEqual(LineageSubtype.allCases.filter { $0.kind == "DIRECT" }.map(\.name),
                       ["IDENTITY", "TRANSFORMATION", "AGGREGATION"])
        XCTAssertEqual(LineageSubtype.window.kind, "INDIRECT")
        XCTAssertEqual(LineageSubtype(rawValue: 8)?.name, "CONDITIONAL")
        XCTAssertNil(LineageSubtype(rawValue: 9))
    }
}

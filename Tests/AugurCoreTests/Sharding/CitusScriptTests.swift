import AugurCore
import XCTest

final class CitusScriptTests: XCTestCase {
    func testReferenceTablesFirstThenDistributedTablesColocatedByType() {
        let plan = ShardingPlan(nodes: 4, choices: [
            "public.warehouse": .distributed(column: "w_id"), "public.district": .distributed(column: "d_w_id"),
            "public.events": .distributed(column: "tenant"), "public.item": .reference, "public.log": .local,
            "\"Odd\".\"Name's\"": .distributed(column: "W Id"),
        ], placements: ["1": 0, "2": 1])
        let script = CitusScript(plan: plan, types: ["public.warehouse": "integer", "public.district": "integer",
                                                     "public.events": "bigint", "\"Odd\".\"Name's\"": "integer"])
        XCTAssertEqual(script.ddl.split(separator: "\n").map(String.init), [
            "SELECT create_reference_table('public.item');",
            "SELECT create_distributed_table('\"Odd\".\"Name''s\"', 'W Id');",
            "SELECT create_distributed_table('public.district', 'd_w_id', colocate_with => '\"Odd\".\"Name''s\"');",
            "SELECT create_distributed_table('public.events', 'tenant');",
            "SELECT create_distributed_table('public.warehouse', 'w_id', colocate_with => '\"Odd\".\"Name''s\"');",
            "SELECT truncate_local_data_after_distributing_table('\"Odd\".\"Name''s\"');",
            "SELECT truncate_local_data_after_distributing_table('public.district');",
            "SELECT truncate_local_data_after_distributing_table('public.events');",
            "SELECT truncate_local_data_after_distributing_table('public.item');",
            "SELECT truncate_local_data_after_distributing_table('public.warehouse');",
            "-- The plan also places 2 key values on 2 nodes (evidence -> 'key_groups'); this script leaves them where Citus hashes them.",
        ])
        XCTAssertEqual(script.rollbackDDL.split(separator: "\n").first, "SELECT undistribute_table('public.warehouse');")
        XCTAssertEqual(script.rollbackDDL.split(separator: "\n").last, "SELECT undistribute_table('public.item');")
        XCTAssertFalse(script.ddl.contains("public.log"), "a local table stays as it is")
    }

    func testFiguresForReasons() {
        XCTAssertEqual(Figures.percent(0.0917), "9.2%")
        XCTAssertEqual(Figures.percent(0), "0.0%")
        XCTAssertEqual(Figures.ratio(1.04321), "1.04")
        XCTAssertEqual(Figures.ratio(-0.5), "-0.50")
        XCTAssertEqual(Figures.ratio(.nan), "null")
    }
}

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
            "SET LOCAL citus.multi_shard_modify_mode TO 'sequential';",
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
            "-- The plan also places 2 key values on 2 nodes (evidence -> 'key_groups'); the collector moves them there after this script (augur.next_placement_step).",
        ])
        XCTAssertEqual(script.rollbackDDL.split(separator: "\n").dropFirst().first, "SELECT undistribute_table('public.warehouse');")
        XCTAssertEqual(script.rollbackDDL.split(separator: "\n").last, "SELECT undistribute_table('public.item');")
        XCTAssertFalse(script.ddl.contains("public.log"), "a local table stays as it is")
    }

    /// Citus refuses a foreign key between a distributed table and one not distributed yet:
    /// the keys go first and come back last, in the script and in its undoing.
    func testForeignKeysAreDroppedFirstAndMadeAgainLast() {
        let plan = ShardingPlan(nodes: 2, choices: ["public.district": .distributed(column: "d_w_id"),
                                                    "public.warehouse": .distributed(column: "w_id")])
        let key = ForeignKey(table: "public.district", name: "district_d_w_id_fkey",
                             definition: "FOREIGN KEY (d_w_id) REFERENCES warehouse(w_id)", columns: ["d_w_id"],
                             referencedTable: "public.warehouse", referencedColumns: ["w_id"])
        let script = CitusScript(plan: plan, types: ["public.district": "integer", "public.warehouse": "integer"], foreignKeys: [key])
        for lines in [script.ddl, script.rollbackDDL].map({ $0.split(separator: "\n").map(String.init) }) {
            XCTAssertEqual(lines.prefix(2), ["SET LOCAL citus.multi_shard_modify_mode TO 'sequential';",
                                             "ALTER TABLE public.district DROP CONSTRAINT district_d_w_id_fkey;"])
            XCTAssertEqual(lines.last,
                           "ALTER TABLE public.district ADD CONSTRAINT district_d_w_id_fkey FOREIGN KEY (d_w_id) REFERENCES warehouse(w_id);")
        }
    }

    /// TPC-C's history references customer by (c_w_id, …) and district by (w_id, …): one
    /// distribution column cannot pair with both, so one key goes, named.
    func testAForeignKeyCitusCannotEnforceIsDroppedAndNamed() {
        let plan = ShardingPlan(nodes: 2, choices: [
            "public.history": .distributed(column: "h_c_w_id"), "public.customer": .distributed(column: "c_w_id"),
            "public.district": .distributed(column: "d_w_id"), "public.item": .reference, "public.log": .local,
            "public.stock": .distributed(column: "s_w_id"), "public.promo": .reference,
        ])
        let types = ["public.history": "integer", "public.customer": "integer", "public.district": "integer", "public.stock": "integer"]
        func key(_ table: String, _ columns: [String], _ referenced: String, _ referencedColumns: [String]) -> ForeignKey {
            ForeignKey(table: table, name: "\(table.dropFirst(7))_\(referenced.dropFirst(7))_fkey", definition: "FOREIGN KEY …",
                       columns: columns, referencedTable: referenced, referencedColumns: referencedColumns)
        }
        let toCustomer = key("public.history", ["h_c_w_id", "h_c_d_id", "h_c_id"], "public.customer", ["c_w_id", "c_d_id", "c_id"])
        let toDistrict = key("public.history", ["h_w_id", "h_d_id"], "public.district", ["d_w_id", "d_id"])
        let toItem = key("public.stock", ["s_i_id"], "public.item", ["i_id"])
        let fromLocal = key("public.log", ["w"], "public.district", ["d_w_id"])
        let fromReference = key("public.promo", ["w"], "public.district", ["d_w_id"])
        XCTAssertTrue(toCustomer.isEnforceable(under: plan, types: types))
        XCTAssertFalse(toDistrict.isEnforceable(under: plan, types: types), "h_w_id is not the distribution column")
        XCTAssertTrue(toItem.isEnforceable(under: plan, types: types), "to a reference table")
        XCTAssertFalse(fromLocal.isEnforceable(under: plan, types: types))
        XCTAssertFalse(fromReference.isEnforceable(under: plan, types: types))
        XCTAssertFalse(toCustomer.isEnforceable(under: plan, types: types.merging(["public.customer": "bigint"]) { $1 }),
                       "not co-located")
        let script = CitusScript(plan: plan, types: types, foreignKeys: [toCustomer, toDistrict, toItem])
        XCTAssertEqual(script.droppedForeignKeys, [toDistrict])
        XCTAssertTrue(script.ddl.contains("ALTER TABLE public.history ADD CONSTRAINT history_customer_fkey"))
        XCTAssertFalse(script.ddl.contains("ADD CONSTRAINT history_district_fkey"))
        XCTAssertTrue(script.ddl.contains("-- history_district_fkey of public.history is not made again"))
        XCTAssertTrue(script.rollbackDDL.contains("ADD CONSTRAINT history_district_fkey"), "undoing the plan brings it back")
        XCTAssertFalse(script.rollbackDDL.contains("DROP CONSTRAINT history_district_fkey"), "it is gone by then")
    }

    func testFiguresForReasons() {
        XCTAssertEqual(Figures.percent(0.0917), "9.2%")
        XCTAssertEqual(Figures.percent(0), "0.0%")
        XCTAssertEqual(Figures.ratio(1.04321), "1.04")
        XCTAssertEqual(Figures.ratio(-0.5), "-0.50")
        XCTAssertEqual(Figures.ratio(.nan), "null")
    }
}

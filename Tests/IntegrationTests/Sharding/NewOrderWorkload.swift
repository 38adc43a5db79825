import PGHarness

/// A small TPC-C-like workload for the sharding tests: four warehouses, their districts and
/// stock (with foreign keys to them and to the items, which Citus accepts only in order),
/// items, and an order log; new-order-like transactions over them.
enum NewOrderWorkload {
    static let schema = """
        CREATE TABLE warehouse (w_id int PRIMARY KEY, w_ytd numeric NOT NULL DEFAULT 0);
        CREATE TABLE district (d_w_id int REFERENCES warehouse, d_id int, d_next_o_id int NOT NULL DEFAULT 1,
                               PRIMARY KEY (d_w_id, d_id));
        CREATE TABLE item (i_id int PRIMARY KEY, i_price numeric NOT NULL);
        CREATE TABLE stock (s_w_id int REFERENCES warehouse, s_i_id int REFERENCES item, s_quantity int NOT NULL DEFAULT 50,
                            PRIMARY KEY (s_w_id, s_i_id));
        CREATE TABLE order_log (ol_w_id int, ol_seq bigint, PRIMARY KEY (ol_w_id, ol_seq));
        INSERT INTO warehouse SELECT g FROM generate_series(1, 4) g;
        INSERT INTO district SELECT w, d FROM generate_series(1, 4) w, generate_series(1, 10) d;
        INSERT INTO item SELECT g, g % 100 FROM generate_series(1, 1000) g;
        INSERT INTO stock SELECT w, i FROM generate_series(1, 4) w, generate_series(1, 1000) i;
        ANALYZE
        """

    /// A seeded generator (a 64-bit LCG's high bits): the same workload in every run.
    struct Random {
        var state: UInt64

        mutating func below(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// `count` new-order-like transactions: a warehouse, one of its districts, three items
    /// and their stock, each line supplied by another warehouse one time in ten, and the
    /// order logged (numbered from seed × 100,000).
    static func run(_ db: Connection, count: Int, seed: UInt64) throws {
        var random = Random(state: seed)
        for order in 0..<count {
            let w = 1 + random.below(4), d = 1 + random.below(10)
            var statements = ["BEGIN", "SELECT w_ytd FROM warehouse WHERE w_id = \(w)",
                              "UPDATE district SET d_next_o_id = d_next_o_id + 1 WHERE d_w_id = \(w) AND d_id = \(d)"]
            for _ in 0..<3 {
                let item = 1 + random.below(1000), supplier = random.below(10) == 0 ? 1 + (w + random.below(3)) % 4 : w
                statements.append("SELECT i_price FROM item WHERE i_id = \(item)")
                statements.append("UPDATE stock SET s_quantity = s_quantity - 1 WHERE s_w_id = \(supplier) AND s_i_id = \(item)")
            }
            statements.append("INSERT INTO order_log VALUES (\(w), \(Int(seed) * 100_000 + order))")
            statements.append("COMMIT")
            try db.query(statements.joined(separator: "; "))
        }
    }
}

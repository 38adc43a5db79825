import Foundation
import PGHarness
import XCTest

/// Dictionaries: every value of a column with its code and statistics, equal at every
/// version to what a GROUP BY of the table gives, whatever the writers did since; codes
/// that never change; versions that roll back; errors that say what is wrong.
final class DictionaryTests: ClusterTestCase {
    /// A table of orders with a category (NULL among its values), an amount and a flag.
    private let orders = """
        CREATE TABLE orders (id serial PRIMARY KEY, region text, amount float8, returned boolean);
        INSERT INTO orders (region, amount, returned)
        SELECT CASE WHEN g % 11 = 0 THEN NULL ELSE 'r' || (g * g) % 37 END, (g % 97) * 1.25, g % 7 = 0
          FROM generate_series(1, 20000) g;
        """

    /// Per value (NULL as "∅"): count, then the target's count, sum and sum of squares.
    private func groupBy(_ db: Connection, target: String = "amount") throws -> [String: [Double]] {
        let value = target == "returned" ? "returned::int::float8" : "\(target)::float8"
        let rows = try db.query("""
            SELECT coalesce(region, '∅'), count(*), count(\(value)), sum(\(value)), sum(\(value) * \(value))
              FROM orders GROUP BY region
            """)
        return Dictionary(uniqueKeysWithValues: rows.map { row in
            (row[0] ?? "", row.dropFirst().map { Double($0 ?? "0") ?? .nan })
        })
    }

    /// The dictionary's entries with a count, as `groupBy` shows them, and their codes.
    private func entries(_ db: Connection, _ name: String,
                         withTarget: Bool = true) throws -> (stats: [String: [Double]], codes: [String: String]) {
        let rows = try db.query("""
            SELECT coalesce(value, '∅'), code, count\(withTarget ? ", target_count, target_sum, target_sumsq" : "")
              FROM augur_dict.\(name) WHERE count > 0
            """)
        return (Dictionary(uniqueKeysWithValues: rows.map { row in
                    (row[0] ?? "", row.dropFirst(2).map { Double($0 ?? "0") ?? .nan })
                }),
                Dictionary(uniqueKeysWithValues: rows.map { ($0[0] ?? "", $0[1] ?? "") }))
    }

    private func assertClose(_ actual: [String: [Double]], _ expected: [String: [Double]],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), "values", file: file, line: line)
        for (value, numbers) in expected {
            guard let got = actual[value] else { continue }
            for (a, e) in zip(got, numbers) {
                XCTAssertEqual(a, e, accuracy: 1e-9 * max(1, abs(e)), "\(value): \(got) vs \(numbers)", file: file, line: line)
            }
        }
    }

    func testStatisticsAndEncodingsAreThoseOfTheWholeTable() throws {
        let db = try augurCluster(setup: orders)
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_create('orders', 'region', 'amount')"), "orders_region")
        assertClose(try entries(db, "orders_region").stats, try groupBy(db))
        // category_encoders' TargetEncoder (smoothing 10, min_samples_leaf 20) and
        // CountEncoder (normalised), computed here from the GROUP BY.
        let expected = try groupBy(db)
        let rows = Double(expected.values.map { $0[0] }.reduce(0, +))
        let prior = expected.values.map { $0[2] }.reduce(0, +) / expected.values.map { $0[1] }.reduce(0, +)
        for row in try db.query("SELECT coalesce(value, '∅'), frequency, target_mean FROM augur_dict.orders_region") {
            let stats = try XCTUnwrap(expected[row[0] ?? ""])
            let weight = 1 / (1 + exp(-(stats[1] - 20) / 10))
            XCTAssertEqual(Double(row[1] ?? "") ?? .nan, stats[0] / rows, accuracy: 1e-12)
            XCTAssertEqual(Double(row[2] ?? "") ?? .nan, prior * (1 - weight) + stats[2] / stats[1] * weight, accuracy: 1e-9)
        }
        // A boolean target: positives and the weight of evidence (WOEEncoder, regularization 1).
        try db.query("SELECT augur.dictionary_create('orders', 'region', 'returned', '{\"name\": \"returns\"}')")
        let flags = try groupBy(db, target: "returned")
        let positives = flags.values.map { $0[2] }.reduce(0, +), total = flags.values.map { $0[1] }.reduce(0, +)
        for row in try db.query("SELECT coalesce(value, '∅'), positives, woe FROM augur_dict.returns") {
            let stats = try XCTUnwrap(flags[row[0] ?? ""])
            XCTAssertEqual(Double(row[1] ?? ""), stats[2])
            let woe = stats[1] == 1 ? 0 : log(((stats[2] + 1) / (positives + 2)) / ((stats[1] - stats[2] + 1) / (total - positives + 2)))
            XCTAssertEqual(Double(row[2] ?? "") ?? .nan, woe, accuracy: 1e-9)
        }
        // NULL has its own code; encode and decode agree with the entries.
        let nullCode = try db.scalar("SELECT code FROM augur_dict.orders_region WHERE value IS NULL")
        XCTAssertNotNil(nullCode)
        XCTAssertEqual(try db.scalar("SELECT augur.encode('orders_region', NULL)"), nullCode)
        XCTAssertEqual(try db.scalar("SELECT augur.encode('orders_region', 'r1')"),
                       try db.scalar("SELECT code FROM augur_dict.orders_region WHERE value = 'r1'"))
        XCTAssertEqual(try db.scalar("SELECT augur.decode('orders_region', augur.encode('orders_region', 'r1'))"), "r1")
        XCTAssertNil(try db.scalar("SELECT augur.encode('orders_region', 'no such region')"))
        // The rows view: every row with its value's code and encodings.
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_view('orders_region')"), "augur_dict.\"orders_region_rows\"")
        XCTAssertEqual(try db.scalar("""
            SELECT count(*) FROM augur_dict.orders_region_rows r
             WHERE r.region_code IS DISTINCT FROM augur.encode('orders_region', r.region)
                OR r.region_code IS NULL OR r.region_target_mean IS NULL
            """), "0")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur_dict.orders_region_rows"), "20000")
        XCTAssertEqual(try db.scalar("SELECT \"values\" || ' ' || rows FROM augur.dictionaries WHERE name = 'orders_region'"),
                       "\(expected.count) 20000")
    }

    func testARefreshCountsWhatWritersChangedAndValuesKeepTheirCodes() throws {
        let db = try augurCluster(setup: orders)
        try db.query("SELECT augur.dictionary_create('orders', 'region', 'amount')")
        let codes = try entries(db, "orders_region").codes
        try db.query("""
            INSERT INTO orders (region, amount) VALUES ('new', 1), ('new', NULL), (NULL, 3), ('r1', 4);
            DELETE FROM orders WHERE region = 'r4';
            UPDATE orders SET region = 'moved', amount = amount + 1 WHERE id % 5 = 0;
            UPDATE orders SET returned = NOT returned WHERE id % 3 = 0;
            COPY orders (region, amount) FROM PROGRAM 'printf "r1\\t2\\nnew\\t5\\n"';
            """)
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_refresh('orders_region')"), "2")
        let (stats, newCodes) = try entries(db, "orders_region")
        assertClose(stats, try groupBy(db))
        for (value, code) in codes where newCodes[value] != nil {
            XCTAssertEqual(newCodes[value], code, "\(value) kept its code")
        }
        XCTAssertEqual(try db.scalar("SELECT count FROM augur_dict.orders_region WHERE value = 'r4'"), "0")
        XCTAssertEqual(try db.scalar("SELECT kind || ' ' || values_added FROM augur.dictionary_versions('orders_region') WHERE current"),
                       "refresh 2")
        // Nothing changed: no new version.
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_refresh('orders_region')"), "2")
        // TRUNCATE, then rows again: counted from scratch, codes still kept.
        try db.query("TRUNCATE orders; INSERT INTO orders (region, amount) VALUES ('r1', 10), ('later', 1)")
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_refresh('orders_region')"), "3")
        assertClose(try entries(db, "orders_region").stats, try groupBy(db))
        XCTAssertEqual(try entries(db, "orders_region").codes["r1"], codes["r1"])
    }

    func testRollbackRestoresAVersionAndARolledBackRefreshChangesNothing() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "1", "augur.dictionary_interval": "1"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        try db.query(orders)
        try db.query("SELECT augur.dictionary_create('orders', 'region')")
        let first = try db.query("SELECT code, value, count FROM augur_dict.orders_region ORDER BY code")
        // The worker counts the changes by itself.
        try db.query("INSERT INTO orders (region) VALUES ('fresh'), ('r1'); DELETE FROM orders WHERE region = 'r2'")
        XCTAssertTrue(try cluster.waitUntil { try db.scalar("SELECT version FROM augur.dictionary") == "2" })
        XCTAssertEqual(try db.scalar("SELECT pending_changes FROM augur.dictionaries"), "0")
        let second = try db.query("SELECT code, value, count FROM augur_dict.orders_region ORDER BY code")
        // Rolled back: version 1's codes and counts, as a new version; the worker pauses.
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_rollback('orders_region', 1)"), "3")
        XCTAssertEqual(try db.query("SELECT code, value, count FROM augur_dict.orders_region ORDER BY code"), first)
        XCTAssertNil(try db.scalar("SELECT augur.encode('orders_region', 'fresh')"))
        try db.query("INSERT INTO orders (region) VALUES ('after')")
        sleep(3)
        XCTAssertEqual(try db.scalar("SELECT version || ' ' || paused FROM augur.dictionary"), "3 true")
        // A refresh rolled back with its transaction leaves the version and the changes.
        try db.query("BEGIN; SELECT augur.dictionary_refresh('orders_region'); ROLLBACK")
        XCTAssertEqual(try db.scalar("SELECT version || ' ' || pending_changes FROM augur.dictionaries"), "3 1")
        // So does one that cannot lock the dictionary.
        let other = try cluster.connect()
        try other.query("BEGIN; SELECT 1 FROM augur.dictionary FOR UPDATE")
        assertServerError("55P03") {
            try db.query("SET lock_timeout = '200ms'; SELECT augur.dictionary_refresh('orders_region')")
        }
        try other.query("ROLLBACK")
        try db.query("RESET lock_timeout")
        XCTAssertEqual(try db.scalar("SELECT version || ' ' || pending_changes FROM augur.dictionaries"), "3 1")
        // The refresh after a rollback counts the table again; 'fresh' gets its old code back.
        let freshCode = try db.scalar("SELECT code FROM augur.dictionary_entry_history WHERE value = 'fresh' LIMIT 1")
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_refresh('orders_region')"), "4")
        XCTAssertEqual(try db.scalar("SELECT augur.encode('orders_region', 'fresh')"), freshCode)
        assertClose(try entries(db, "orders_region", withTarget: false).stats,
                    try groupBy(db).mapValues { Array($0.prefix(1)) })
        // Any version comes back, not only the first.
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_rollback('orders_region', 2)"), "5")
        XCTAssertEqual(try db.query("SELECT code, value, count FROM augur_dict.orders_region ORDER BY code"), second)
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_rollback('orders_region', 4)"), "6")
        // Kept across a restart, with its versions.
        try cluster.restart()
        let again = try cluster.connect()
        XCTAssertEqual(try again.scalar("SELECT count(*) FROM augur.dictionary_versions('orders_region')"), "6")
        XCTAssertEqual(try again.scalar("SELECT augur.encode('orders_region', 'fresh')"), freshCode)
    }

    func testAWorkerRefreshThatFailsIsLoggedOnceAndPausesTheDictionary() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "1", "augur.dictionary_interval": "1"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        try db.query(orders)
        try db.query("SELECT augur.dictionary_create('orders', 'region')")
        try db.query("ALTER TABLE orders ALTER COLUMN region TYPE varchar(20)")
        XCTAssertTrue(try cluster.waitUntil { try db.scalar("SELECT paused FROM augur.dictionaries") == "t" })
        sleep(3)
        XCTAssertEqual(try db.scalar("""
            SELECT count(*) FROM augur.action_log WHERE action = 'dictionary refresh' AND error LIKE '%type%changed%'
            """), "1", "logged once, not every cycle")
        XCTAssertTrue(try db.scalar("SELECT problem FROM augur.dictionaries")?.contains("changed") ?? false)
    }

    func testWritersDuringRefreshesLoseNoValue() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur")
        try db.query(orders)
        try db.query("SELECT augur.dictionary_create('orders', 'region', 'amount')")
        let script = cluster.directory.appendingPathComponent("writes.sql").path
        try """
            \\set r random(1, 500)
            INSERT INTO orders (region, amount) VALUES ('w' || :r, :r);
            UPDATE orders SET region = 'u' || :r WHERE id = :r;
            DELETE FROM orders WHERE id = :r * 7;
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let writers = Thread { _ = try? cluster.pgbench(["-n", "-c", "4", "-j", "2", "-T", "6", "-f", script]) }
        writers.start()
        var versions = Set<String>()
        let deadline = Date().addingTimeInterval(6)
        while Date() < deadline {
            versions.insert(try db.scalar("SELECT augur.dictionary_refresh('orders_region')") ?? "")
            usleep(300_000)
        }
        while writers.isExecuting { usleep(100_000) }
        sleep(1)
        try db.query("SELECT augur.dictionary_refresh('orders_region')")
        XCTAssertGreaterThan(versions.count, 3, "refreshes made versions while the writers wrote")
        assertClose(try entries(db, "orders_region").stats, try groupBy(db))
        XCTAssertEqual(try db.scalar("""
            SELECT count(*) FROM orders o WHERE augur.encode('orders_region', o.region) IS NULL
            """), "0", "every value in the table has a code")
    }

    func testAPlainRolesWritesAreCountedAndItsReadersSeeOnlyWhatTheyMayRead() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600"]))
        let db = try cluster.connect()
        try db.query("""
            CREATE EXTENSION augur;
            CREATE ROLE owner LOGIN; CREATE ROLE reader LOGIN; CREATE ROLE stranger LOGIN;
            GRANT CREATE ON SCHEMA public TO owner;
            """)
        let owner = try cluster.connect(user: "owner")
        try owner.query(orders + "GRANT SELECT (region) ON orders TO reader; CREATE TABLE other (region text);")
        try db.query("SELECT augur.dictionary_create('orders', 'region')")
        try owner.query("INSERT INTO orders (region) VALUES ('from the owner')")
        try db.query("SELECT augur.dictionary_refresh('orders_region')")
        XCTAssertEqual(try owner.scalar("SELECT count FROM augur_dict.orders_region WHERE value = 'from the owner'"), "1")
        // Readers of the column see the entries; others see none.
        let reader = try cluster.connect(user: "reader"), stranger = try cluster.connect(user: "stranger")
        XCTAssertNotNil(try reader.scalar("SELECT augur.encode('orders_region', 'from the owner')"))
        XCTAssertNil(try stranger.scalar("SELECT augur.encode('orders_region', 'from the owner')"))
        XCTAssertEqual(try stranger.scalar("SELECT count(*) FROM augur_dict.orders_region"), "0")
        // Only a superuser makes dictionaries, and nobody attaches the capture to another table.
        assertServerError("42501") { try owner.query("SELECT augur.dictionary_create('orders', 'id')") }
        assertServerError("42501") {
            try owner.query("""
                CREATE TRIGGER fake AFTER INSERT ON other REFERENCING NEW TABLE AS augur_new
                FOR EACH STATEMENT EXECUTE FUNCTION augur_dict.capture_orders_region()
                """)
        }
    }

    func testDifferentialPrivacyPublishesNoisyStatisticsWithinItsBudget() throws {
        let db = try augurCluster(setup: orders)
        try db.query("""
            SELECT augur.dictionary_create('orders', 'region', 'amount',
                                           '{"epsilon": 1, "epsilon_budget": 2.5, "target_bound": 100}')
            """)
        // Laplace noise of scale 4 (four statistics share ε = 1) on each count: published
        // counts differ from the true ones, by little, and by nothing on average.
        let rows = try db.query("""
            SELECT p.count - e.count, p.target_sum - e.target_sum
              FROM augur_dict.orders_region p JOIN augur.dictionary_entry e USING (code)
            """)
        let countNoise = rows.map { Double($0[0] ?? "") ?? .nan }, sumNoise = rows.map { Double($0[1] ?? "") ?? .nan }
        XCTAssertEqual(String(rows.count), try db.scalar("SELECT count(DISTINCT coalesce(region, '∅')) FROM orders"))
        let first = try db.query("SELECT code, count, target_sum FROM augur_dict.orders_region ORDER BY code")
        XCTAssertTrue(countNoise.contains { $0 != 0 }, "noise was added")
        XCTAssertLessThan(countNoise.map(abs).max() ?? .infinity, 4 * 25, "Laplace(4) beyond 25 scales: p < 1e-9")
        XCTAssertLessThan(sumNoise.map(abs).max() ?? .infinity, 400 * 25, "a sum's scale: 4 × the bound 100")
        // Each version spends ε = 1: a third one would exceed 2.5, and is refused.
        try db.query("INSERT INTO orders (region, amount) VALUES ('r1', 1)")
        XCTAssertEqual(try db.scalar("SELECT augur.dictionary_refresh('orders_region')"), "2")
        try db.query("INSERT INTO orders (region, amount) VALUES ('r1', 1)")
        let refused = assertServerError("54000") { try db.query("SELECT augur.dictionary_refresh('orders_region')") }
        XCTAssertTrue(refused?.hint?.contains("new dictionary") ?? false)
        XCTAssertEqual(try db.scalar("SELECT string_agg(epsilon || '/' || epsilon_spent, ' ' ORDER BY version) FROM augur.dictionary_versions('orders_region')"),
                       "1/1 1/2")
        XCTAssertEqual(try db.scalar("SELECT version || ' ' || pending_changes FROM augur.dictionaries"), "2 1")
        // A rollback republishes version 1 as it was published, noise and all, and spends nothing.
        try db.query("SELECT augur.dictionary_rollback('orders_region', 1)")
        XCTAssertEqual(try db.query("SELECT code, count, target_sum FROM augur_dict.orders_region ORDER BY code"), first)
        // A numeric target needs a bound: without it one row could move a sum without limit.
        assertServerError("22023") {
            try db.query("SELECT augur.dictionary_create('orders', 'region', 'amount', '{\"name\": \"x\", \"epsilon\": 1}')")
        }
    }

    /// The triggers run with the rights of the superuser who made the dictionary. A plain
    /// role that changes its column to a type of its own, with a cast to text of its own,
    /// must not get that cast run with those rights: the triggers go with the ALTER TABLE.
    func testATypeChangedToARolesOwnRunsNothingOfItsWithMoreRights() throws {
        let cluster = try startCluster(.init(settings: ["augur.naptime": "3600"]))
        let db = try cluster.connect()
        try db.query("CREATE EXTENSION augur; CREATE ROLE mallory LOGIN; GRANT CREATE ON SCHEMA public TO mallory")
        let mallory = try cluster.connect(user: "mallory")
        try mallory.query(orders + """
            CREATE TABLE seen (who name);
            CREATE TYPE boxed AS (v text);
            CREATE FUNCTION unbox(boxed) RETURNS text LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.seen VALUES (current_user);
                RETURN ($1).v;
            END $$;
            CREATE CAST (boxed AS text) WITH FUNCTION unbox(boxed);
            """)
        try db.query("SELECT augur.dictionary_create('orders', 'region')")
        try mallory.query("""
            ALTER TABLE orders ALTER COLUMN region TYPE boxed USING ROW(region)::boxed;
            INSERT INTO orders (region) VALUES (ROW('north')::boxed);
            UPDATE orders SET amount = 1 WHERE id < 10;
            """)
        XCTAssertEqual(try mallory.scalar("SELECT count(*) FROM seen WHERE who <> 'mallory'"), "0",
                       "the role's cast never ran as anyone else")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass"), "0")
        XCTAssertNotNil(try db.scalar("SELECT problem FROM augur.dictionaries"))
        assertServerError("42804") { try db.query("SELECT augur.dictionary_refresh('orders_region')") }
        XCTAssertEqual(try mallory.scalar("SELECT count(*) FROM seen WHERE who <> 'mallory'"), "0")
        // A type the role owns from the start (an enum is allowed), and a cast made after:
        // the triggers and the counting use the type's output, never a cast.
        try mallory.query("""
            CREATE TYPE mood AS ENUM ('calm', 'cross');
            CREATE TABLE moods (id serial, m mood);
            INSERT INTO moods (m) VALUES ('calm'), ('cross');
            """)
        try db.query("SELECT augur.dictionary_create('moods', 'm')")
        try mallory.query("""
            CREATE FUNCTION spoken(mood) RETURNS text LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.seen VALUES (current_user);
                RETURN 'x';
            END $$;
            CREATE CAST (mood AS text) WITH FUNCTION spoken(mood);
            INSERT INTO moods (m) VALUES ('calm');
            """)
        try db.query("SELECT augur.dictionary_refresh('moods_m'); TRUNCATE moods; SELECT augur.dictionary_refresh('moods_m')")
        XCTAssertEqual(try mallory.scalar("SELECT count(*) FROM seen WHERE who <> 'mallory'"), "0")
        // A foreign table among the children would be read with the superuser's mapping.
        try db.query("""
            CREATE EXTENSION postgres_fdw;
            CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'postgres');
            CREATE TABLE parent (region text);
            CREATE FOREIGN TABLE child () INHERITS (parent) SERVER elsewhere;
            """)
        assertServerError("0A000") { try db.query("SELECT augur.dictionary_create('parent', 'region')") }
    }

    /// On Citus, each worker counts its shards and the coordinator adds the counts and sums
    /// up: the dictionary of the distributed table equals the one of the same rows in one
    /// local table, to the last bit the sums allow.
    func testADistributedTablesDictionaryIsMergedExactlyFromItsWorkers() throws {
        let cluster = try startCitusCluster(workers: 2)
        let db = try cluster.coordinator.connect()
        try db.query(orders + """
            CREATE TABLE spread (LIKE orders);
            INSERT INTO spread SELECT * FROM orders;
            SELECT create_distributed_table('spread', 'id');
            """)
        XCTAssertEqual(try db.scalar("SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'spread'::regclass"), "2")
        try db.query("""
            SELECT augur.dictionary_create('orders', 'region', 'returned');
            SELECT augur.dictionary_create('spread', 'region', 'returned');
            """)
        let compare = """
            SELECT count(*), max(abs(l.frequency - d.frequency)), max(abs(l.target_mean - d.target_mean)),
                   max(abs(l.woe - d.woe)), count(*) FILTER (WHERE l.count <> d.count OR l.positives <> d.positives)
              FROM augur_dict.orders_region l
              JOIN augur_dict.spread_region d ON d.value IS NOT DISTINCT FROM l.value
            """
        func assertEqualDictionaries(file: StaticString = #filePath, line: UInt = #line) throws {
            let row = try XCTUnwrap(try db.query(compare).first)
            XCTAssertEqual(row[0], try db.scalar("SELECT count(*) FROM augur_dict.orders_region"), file: file, line: line)
            XCTAssertEqual(row[0], try db.scalar("SELECT count(*) FROM augur_dict.spread_region"), file: file, line: line)
            for difference in row[1...3] { XCTAssertLessThan(Double(difference ?? "") ?? 1, 1e-12, file: file, line: line) }
            XCTAssertEqual(row[4], "0", "counts and positives equal", file: file, line: line)
        }
        try assertEqualDictionaries()
        // Writes on the workers: the next version counts them (no trigger sees them there).
        for table in ["orders", "spread"] {
            try db.query("""
                INSERT INTO \(table) (id, region, returned) VALUES (30001, 'north', true), (30002, NULL, false);
                DELETE FROM \(table) WHERE region = 'r1';
                """)
            try db.query("SELECT augur.dictionary_refresh('\(table)_region')")
        }
        try assertEqualDictionaries()
        XCTAssertEqual(try db.scalar("SELECT kind FROM augur.dictionary_versions('spread_region') WHERE current"), "rebuild")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'spread'::regclass AND NOT tgisinternal"), "0")
        try db.query("SELECT augur.dictionary_drop('spread_region')")
    }

    func testBadInputGetsAClearErrorAndChangesNothing() throws {
        let db = try augurCluster(setup: orders + """
            CREATE TYPE pair AS (a int, b int);
            CREATE TABLE odd (p pair, t text);
            CREATE VIEW orders_view AS SELECT * FROM orders;
            """)
        try db.query("SELECT augur.dictionary_create('orders', 'region')")
        let cases: [(String, String)] = [
            ("42P01", "SELECT augur.dictionary_create('no_such_table', 'region')"),
            ("42703", "SELECT augur.dictionary_create('orders', 'no_such_column')"),
            ("42703", "SELECT augur.dictionary_create('orders', 'id', 'no_such_target', '{\"name\": \"x\"}')"),
            ("42804", "SELECT augur.dictionary_create('orders', 'id', 'region', '{\"name\": \"x\"}')"),
            ("42804", "SELECT augur.dictionary_create('odd', 'p')"),
            ("42809", "SELECT augur.dictionary_create('orders_view', 'region')"),
            ("42710", "SELECT augur.dictionary_create('orders', 'region')"),
            ("22023", "SELECT augur.dictionary_create('orders', 'id', NULL, '{\"colour\": 1}')"),
            ("22023", "SELECT augur.dictionary_create('orders', 'id', 'amount', '{\"smoothing\": 0}')"),
            ("22023", "SELECT augur.dictionary_create('orders', 'id', NULL, '{\"name\": \"Bad Name\"}')"),
            ("22004", "SELECT augur.dictionary_create('orders', NULL)"),
            ("42704", "SELECT augur.dictionary_refresh('nope')"),
            ("42704", "SELECT augur.encode('nope', 'x')"),
            ("42704", "SELECT augur.decode('nope', 1)"),
            ("42704", "SELECT augur.dictionary_view('nope')"),
            ("42704", "SELECT augur.dictionary_drop('nope')"),
            ("22023", "SELECT augur.dictionary_rollback('orders_region', 7)"),
            ("22023", "SELECT augur.dictionary_rollback('orders_region', 1)"),
            ("22004", "SELECT augur.dictionary_rollback('orders_region', NULL)"),
        ]
        for (sqlstate, sql) in cases {
            assertServerError(sqlstate, sql) { try db.query(sql) }
        }
        XCTAssertEqual(try db.scalar("SELECT string_agg(name, ',') FROM augur.dictionary"), "orders_region")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass"), "4")
        // A dropped column: the refresh says so; dropping the dictionary removes all of it.
        try db.query("DROP VIEW orders_view; ALTER TABLE orders DROP COLUMN region")
        // Writes go on; the dictionary notes that it could not follow them.
        try db.query("INSERT INTO orders (amount) VALUES (1)")
        XCTAssertNotNil(try db.scalar("SELECT problem FROM augur.dictionaries"))
        assertServerError("42703") { try db.query("SELECT augur.dictionary_refresh('orders_region')") }
        try db.query("SELECT augur.dictionary_drop('orders_region')")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass"), "0")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM augur.dictionary_entry"), "0")
        XCTAssertEqual(try db.scalar("SELECT count(*) FROM pg_class WHERE relnamespace = 'augur_dict'::regnamespace"), "0")
    }
}

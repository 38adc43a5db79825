/// The objects one dictionary adds to a database, as SQL: the triggers that note what
/// writers change in its column, and the views that read its entries. Names arrive quoted
/// where needed (quote_ident); the dictionary's name needs no quotes (`DictionaryOptions`).
public struct DictionaryObjects: Equatable, Sendable {
    public enum TargetKind: String, Sendable {
        /// A number: its sum and sum of squares per value, the smoothed mean.
        case numeric
        /// A boolean: also its weight of evidence.
        case binary
    }

    public struct Target: Equatable, Sendable {
        public var column: String
        public var kind: TargetKind

        public init(column: String, kind: TargetKind) {
            self.column = column
            self.kind = kind
        }
    }

    public var id: Int64
    public var name: String
    public var relid: UInt32
    public var relation: String
    public var column: String
    public var target: Target?
    public var options: DictionaryOptions

    public init(id: Int64, name: String, relid: UInt32, relation: String, column: String, target: Target?,
                options: DictionaryOptions) {
        self.id = id
        self.name = name
        self.relid = relid
        self.relation = relation
        self.column = column
        self.target = target
        self.options = options
    }

    public var captureFunction: String { "augur_dict.\"capture_\(name)\"" }
    public var encodingsView: String { "augur_dict.\"\(name)\"" }
    public var rowsView: String { "augur_dict.\"\(name)_rows\"" }

    /// The target as a float8 expression over a row (a boolean as 0 or 1; a number clipped
    /// to the option target_bound, when there is one), as `dictionary_next_version` counts
    /// it when it reads the table (by the column's number: a renamed column still counts).
    private var targetValue: String? {
        guard let target else { return nil }
        if target.kind == .binary { return "\(target.column)::int::float8" }
        guard let bound = options.targetBound else { return "\(target.column)::float8" }
        return "least(greatest(\(target.column)::float8, -\(Self.float(bound))), \(Self.float(bound)))"
    }

    /// Runs as its owner (it writes augur.dictionary_delta, which writers may not), with
    /// nothing of the writer's in reach: only the column's text form and sums of built-in
    /// types (dictionary_create accepts no other). It never fails the write it follows:
    /// what it cannot note marks the dictionary, whose next refresh counts the table again.
    public var captureFunctionSQL: String {
        let target = targetValue ?? "NULL::float8"
        /// One row per value with a net change, from the rows of `tables` (inserted ones
        /// counted +1, deleted ones −1: an update that leaves the column and target as they
        /// were notes nothing).
        func changes(_ tables: [(name: String, sign: String)]) -> String {
            let rows = tables.map { table, sign in
                "SELECT \(Self.text(of: column)) AS value, \(sign)1 AS rows, \(sign)(\(target) IS NOT NULL)::int AS target_count, "
                    + "\(sign)(\(target)) AS target_sum, \(sign)(\(target)) * (\(target)) AS target_sumsq FROM \(table)"
            }
            return """
                        INSERT INTO augur.dictionary_delta (dictionary, value, rows, target_count, target_sum, target_sumsq)
                        SELECT \(id), value, sum(rows), sum(target_count), sum(target_sum), sum(target_sumsq)
                          FROM (\(rows.joined(separator: " UNION ALL "))) c
                         GROUP BY value
                        HAVING sum(rows) <> 0 OR sum(target_count) <> 0 OR sum(target_sum) <> 0 OR sum(target_sumsq) <> 0;
                """
        }
        return """
            CREATE FUNCTION \(captureFunction)() RETURNS trigger
                LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
            AS $augur$
            BEGIN
                IF TG_RELID <> \(relid)::oid THEN
                    RAISE EXCEPTION 'this function notes changes to the table of dictionary "\(name)" only'
                        USING ERRCODE = '42501';
                END IF;
                IF TG_OP = 'TRUNCATE' THEN
                    INSERT INTO augur.dictionary_delta (dictionary, truncated) VALUES (\(id), true);
                ELSIF TG_OP = 'INSERT' THEN
            \(changes([("augur_new", "")]))
                ELSIF TG_OP = 'DELETE' THEN
            \(changes([("augur_old", "-")]))
                ELSE
            \(changes([("augur_new", ""), ("augur_old", "-")]))
                END IF;
                RETURN NULL;
            EXCEPTION WHEN OTHERS THEN
                UPDATE augur.dictionary SET problem = SQLERRM WHERE id = \(id);
                RETURN NULL;
            END
            $augur$
            """
    }

    /// Statement-level, with transition tables: one insert per statement and value, not per
    /// row. (PostgreSQL allows no column list with transition tables: every update fires.)
    public var triggerNames: [String] {
        ["insert", "update", "delete", "truncate"].map { "\"augur_dict_\(name)_\($0)\"" }
    }

    public var triggersSQL: [String] {
        let function = "FOR EACH STATEMENT EXECUTE FUNCTION \(captureFunction)()"
        let events = [
            "AFTER INSERT ON \(relation) REFERENCING NEW TABLE AS augur_new",
            "AFTER UPDATE ON \(relation) REFERENCING OLD TABLE AS augur_old NEW TABLE AS augur_new",
            "AFTER DELETE ON \(relation) REFERENCING OLD TABLE AS augur_old",
            "AFTER TRUNCATE ON \(relation)",
        ]
        return zip(triggerNames, events).map { "CREATE TRIGGER \($0) \($1) \(function)" }
    }

    private static func float(_ value: Double) -> String { "\(value)::float8" }

    /// A value's text form by its type's output function, never a cast: the capture runs
    /// with its maker's rights, and a role can make a cast from a type it owns (an enum).
    /// Augur's SQL (`dictionary_next_version`) counts values the same way.
    static func text(of value: String) -> String {
        "CASE WHEN \(value) IS NULL THEN NULL ELSE pg_catalog.format('%s', \(value)) END"
    }

    /// The logistic function without overflow (PostgreSQL's exp() raises on underflow).
    private static func logistic(_ x: String) -> String {
        "CASE WHEN \(x) > 700 THEN 1 WHEN \(x) < -700 THEN 0 ELSE 1 / (1 + exp(-(\(x)))) END"
    }

    /// The encoded columns, over an entry `e` and its version's totals `v`: frequency
    /// (CountEncoder normalised), and with a target the smoothed mean (TargetEncoder:
    /// prior·(1−w) + mean·w, w the logistic of (n − min_samples_leaf) / smoothing) and,
    /// for a boolean one, the weight of evidence (WOEEncoder, with its regularization; 0 for
    /// a value seen once, as WOEEncoder keeps id-like values from overfitting).
    public var encodedColumns: [(name: String, expression: String)] {
        var columns = [("frequency", "e.count::float8 / nullif(v.total_count, 0)")]
        guard let target else { return columns }
        let prior = "(v.target_sum / nullif(v.target_count, 0))"
        let weight = Self.logistic("(e.target_count - \(Self.float(options.minSamplesLeaf))) / \(Self.float(options.smoothing))")
        columns.append(("target_mean", """
            CASE WHEN e.target_count > 0
                 THEN \(prior) * (1 - \(weight)) + e.target_sum / e.target_count * \(weight)
                 ELSE \(prior) END
            """))
        if target.kind == .binary {
            let r = Self.float(options.regularization)
            columns.append(("woe", """
                CASE WHEN e.target_count = 1 THEN 0
                     ELSE ln(((e.target_sum + \(r)) / nullif(v.target_sum + 2 * \(r), 0))
                             / nullif((e.target_count - e.target_sum + \(r))
                                      / nullif(v.target_count - v.target_sum + 2 * \(r), 0), 0)) END
                """))
        }
        return columns
    }

    /// The entries of the current version with their encodings, as published (with
    /// differential privacy, noisy). security_invoker: a reader sees them only if the
    /// column they come from is readable to them.
    public var encodingsViewSQL: String {
        let statistics = target == nil ? "" : (target?.kind == .binary
            ? "e.target_count, e.target_sum, e.target_sumsq, e.target_sum::bigint AS positives, "
            : "e.target_count, e.target_sum, e.target_sumsq, ")
        return """
            CREATE VIEW \(encodingsView) WITH (security_invoker = true) AS
            SELECT e.code, e.value, e.count, e.first_seen, e.last_seen, \(statistics)
                   \(encodedColumns.map { "\($0.expression) AS \($0.name)" }.joined(separator: ",\n       "))
              FROM augur.dictionary_published e
              JOIN augur.dictionary d ON d.id = e.dictionary
              JOIN augur.dictionary_version v ON v.dictionary = d.id AND v.version = d.version
             WHERE e.dictionary = \(id)
            """
    }

    /// The fields `rowsViewSQL` adds, each as `<column>_<field>`.
    public var addedFields: [String] { ["code"] + encodedColumns.map(\.name) }

    /// The source table's rows with the column's code and encodings added, named
    /// `addedColumns` (quoted `<column>_<field>` for each of `addedFields`). NULL is
    /// joined apart: its entry has no value to compare, and an equality keeps the join a
    /// hash join.
    public func rowsViewSQL(addedColumns: [String]) -> String {
        let added = zip(addedFields, addedColumns).map { field, name in
            "coalesce(e.\(field), CASE WHEN t.\(column) IS NULL THEN n.\(field) END) AS \(name)"
        }
        return """
            CREATE VIEW \(rowsView) WITH (security_invoker = true) AS
            SELECT t.*, \(added.joined(separator: ", "))
              FROM \(relation) t
              LEFT JOIN \(encodingsView) e ON e.value = \(Self.text(of: "t.\(column)"))
              LEFT JOIN (SELECT * FROM \(encodingsView) WHERE value IS NULL) n ON true
            """
    }

    /// The views, in the order they can be dropped (the rows view reads the other).
    public var views: [String] { [rowsView, encodingsView] }
}

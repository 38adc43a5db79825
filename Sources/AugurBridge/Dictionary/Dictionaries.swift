import AugurCore
import CShim

/// Dictionaries (docs/dictionaries.md): made by `augur.dictionary_create`, kept current by
/// the worker, read through their views and `augur.encode` / `augur.decode`.
enum Dictionaries {
    /// Types whose text form and equality run no code a role could have written:
    /// built-in ones, enums and domains over them. The capture triggers run as their
    /// owner, so a column of any other type is refused.
    private static let columnType = """
        SELECT a.attname, pg_catalog.quote_ident(a.attname) AS quoted, t.oid AS type,
               (bt.oid < 16384 OR bt.typtype = 'e') AS builtin,
               bt.oid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'float4'::regtype,
                          'float8'::regtype, 'numeric'::regtype) AS numeric,
               bt.oid = 'bool'::regtype AS boolean
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
         WHERE a.attrelid = $1::oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
        """

    /// Makes a dictionary of `column` of `relid` and counts its first version; returns its name.
    static func create(relid: UInt32, column: String, target: String?, optionsJSON: String) throws -> String {
        let given = try keysAndValues(optionsJSON)
        let options: DictionaryOptions
        do throws(DictionaryOptions.ParseError) {
            options = try DictionaryOptions(parsing: given)
        } catch {
            throw PGError(sqlstate: .invalidParameterValue, message: error.message, hint: error.hint)
        }
        guard let relation = try SPI.query("""
            SELECT c.relname, c.relkind, format('%I.%I', n.nspname, c.relname) AS qualified
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = $1::oid
            """, [String(relid)]).first else {
            throw PGError(sqlstate: .undefinedTable, message: "relation with OID \(relid) does not exist")
        }
        let relname = relation["relname"]?.text ?? ""
        guard ["r", "p"].contains(relation["relkind"]?.text ?? "") else {
            throw PGError(sqlstate: .wrongObjectType, message: "\"\(relname)\" is not a table",
                          hint: "A dictionary describes a column of a table or a partitioned table.")
        }
        let source = try describe(column, of: relid, relname: relname)
        guard source["builtin"] == .bool(true) else {
            throw PGError(sqlstate: .datatypeMismatch,
                          message: "column \"\(column)\" is of a type a dictionary does not take",
                          hint: "Built-in types, enums and domains over them: the capture triggers run with more rights than the table's writers.")
        }
        var targetObject: DictionaryObjects.Target?
        if let target {
            let row = try describe(target, of: relid, relname: relname)
            guard row["numeric"] == .bool(true) || row["boolean"] == .bool(true) else {
                throw PGError(sqlstate: .datatypeMismatch, message: "target \"\(target)\" is neither numeric nor boolean",
                              hint: "A target is a smallint, integer, bigint, real, double precision, numeric or boolean column.")
            }
            guard target != column else {
                throw PGError(sqlstate: .invalidParameterValue, message: "the target must be another column than \"\(column)\"")
            }
            targetObject = .init(column: row["quoted"]?.text ?? target,
                                 kind: row["boolean"] == .bool(true) ? .binary : .numeric)
        }
        if options.epsilon != nil, targetObject?.kind == .numeric, options.targetBound == nil {
            throw PGError(sqlstate: .invalidParameterValue,
                          message: "a numeric target with differential privacy needs the option \"target_bound\"",
                          hint: "Values are clipped to [-target_bound, target_bound]: how much one row can move a sum, the noise's scale.")
        }
        let name = options.name ?? DictionaryOptions.defaultName(relation: relname, column: column)
        guard try SPI.query("SELECT 1 FROM augur.dictionary WHERE name = $1", [name]).isEmpty else {
            throw PGError(sqlstate: .duplicateObject, message: "dictionary \"\(name)\" already exists",
                          hint: "Name another one with the option \"name\", or drop it with augur.dictionary_drop.")
        }
        let qualified = relation["qualified"]?.text ?? relname
        let onCitus = try isOnCitusWorkers(relid)
        let id = try SPI.execute("""
            INSERT INTO augur.dictionary (name, relid, attnum, target_attnum, typid, target_typid, target_kind, source,
                                          target, options, recounts)
            SELECT $1, $2::oid, a.attnum, t.attnum, a.atttypid, t.atttypid, $5, $6 || '.' || pg_catalog.quote_ident(a.attname),
                   CASE WHEN $4 IS NOT NULL THEN $6 || '.' || pg_catalog.quote_ident(t.attname) END, $7::jsonb, $8::boolean
              FROM pg_catalog.pg_attribute a
              LEFT JOIN pg_catalog.pg_attribute t ON t.attrelid = a.attrelid AND t.attname = $4
             WHERE a.attrelid = $2::oid AND a.attname = $3
            RETURNING id
            """, [name, String(relid), column, target, targetObject?.kind.rawValue, qualified, optionsJSON,
                  onCitus ? "t" : "f"]).rows.first?["id"]?.int ?? 0
        let objects = DictionaryObjects(id: id, name: name, relid: relid, relation: qualified,
                                        column: source["quoted"]?.text ?? column, target: targetObject, options: options)
        try SPI.execute(objects.captureFunctionSQL)
        try SPI.execute("REVOKE ALL ON FUNCTION \(objects.captureFunction)() FROM PUBLIC")
        if !onCitus {
            for trigger in objects.triggersSQL { try SPI.execute(trigger) }
        }
        try SPI.execute(objects.encodingsViewSQL)
        try SPI.execute("GRANT SELECT ON \(objects.encodingsView) TO PUBLIC")
        try SPI.progress("dictionary \(name): counting the values of \(qualified).\(column)")
        let version = try SPI.execute("SELECT augur.dictionary_next_version($1::int, true) AS version", [String(id)]).rows
        let made = try SPI.execute("""
            SELECT count(*) AS entries, max(v.rows_read) AS rows_read FROM augur.dictionary_entry e
              JOIN augur.dictionary_version v ON v.dictionary = e.dictionary AND v.version = 1
             WHERE e.dictionary = $1::int
            """, [String(id)]).rows.first
        try SPI.progress("dictionary \(name): version \(version.first?["version"]?.int ?? 0), "
                         + "\(made?["entries"]?.int ?? 0) values from \(made?["rows_read"]?.int ?? 0) rows")
        return name
    }

    /// Whether `relid` is a Citus distributed or reference table: its rows live on the
    /// workers, where the coordinator's triggers do not see them change.
    private static func isOnCitusWorkers(_ relid: UInt32) throws -> Bool {
        guard try SPI.query("SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL AS citus")
            .first?["citus"] == .bool(true) else { return false }
        return try !SPI.query("SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1::oid",
                              [String(relid)]).isEmpty
    }

    /// A jsonb object's keys and values as text (JSON null as nil).
    private static func keysAndValues(_ json: String) throws -> [String: String?] {
        let rows = try SPI.query("SELECT key, value FROM pg_catalog.jsonb_each_text($1::jsonb)", [json])
        return Dictionary(rows.compactMap { row in row["key"]?.text.map { ($0, row["value"]?.text) } },
                          uniquingKeysWith: { first, _ in first })
    }

    private static func describe(_ column: String, of relid: UInt32, relname: String) throws -> SPIRow {
        guard let row = try SPI.query(columnType, [String(relid), column]).first else {
            throw PGError(sqlstate: .undefinedColumn,
                          message: "column \"\(column)\" of relation \"\(relname)\" does not exist")
        }
        return row
    }

    /// The stored dictionary `name`, as the objects it made.
    private static func objects(_ name: String) throws -> (DictionaryObjects, bareColumn: String) {
        guard let row = try SPI.query("""
            SELECT d.id, d.relid, (SELECT format('%I.%I', n.nspname, c.relname)
                                     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                    WHERE c.oid = d.relid) AS relation,
                   d.target_kind, d.options::text AS options,
                   a.attname, pg_catalog.quote_ident(a.attname) AS quoted, pg_catalog.quote_ident(t.attname) AS target
              FROM augur.dictionary d
              LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.relid AND a.attnum = d.attnum AND NOT a.attisdropped
              LEFT JOIN pg_catalog.pg_attribute t ON t.attrelid = d.relid AND t.attnum = d.target_attnum
             WHERE d.name = $1
            """, [name]).first else {
            throw PGError(sqlstate: .undefinedObject, message: "dictionary \"\(name)\" does not exist",
                          hint: "augur.dictionaries lists them.")
        }
        // Checked when the dictionary was made.
        let options = (try? DictionaryOptions(parsing: try keysAndValues(row["options"]?.text ?? "{}"))) ?? DictionaryOptions()
        var target: DictionaryObjects.Target?
        if let column = row["target"]?.text, let kind = row["target_kind"]?.text.flatMap(DictionaryObjects.TargetKind.init) {
            target = .init(column: column, kind: kind)
        }
        let objects = DictionaryObjects(id: row["id"]?.int ?? 0, name: name,
                                        relid: UInt32(truncatingIfNeeded: row["relid"]?.int ?? 0),
                                        relation: row["relation"]?.text ?? "", column: row["quoted"]?.text ?? "",
                                        target: target, options: options)
        return (objects, row["attname"]?.text ?? "")
    }

    /// Makes (or makes again) the view of the source table's rows with their encodings.
    static func createRowsView(_ name: String) throws -> String {
        let (objects, bareColumn) = try objects(name)
        guard !bareColumn.isEmpty else {
            throw PGError(sqlstate: .undefinedColumn, message: "the column of dictionary \"\(name)\" no longer exists",
                          hint: "Drop it with augur.dictionary_drop.")
        }
        let added = try objects.addedFields.map { field in
            try SPI.query("SELECT pg_catalog.quote_ident($1) AS name", [bareColumn + "_" + field]).first?["name"]?.text ?? field
        }
        try dropViewIfThere(objects.rowsView)
        try SPI.execute(objects.rowsViewSQL(addedColumns: added))
        try SPI.execute("GRANT SELECT ON \(objects.rowsView) TO PUBLIC")
        return objects.rowsView
    }

    private static func dropViewIfThere(_ view: String) throws {
        if try SPI.query("SELECT pg_catalog.to_regclass($1) IS NOT NULL AS there", [view]).first?["there"] == .bool(true) {
            try SPI.execute("DROP VIEW \(view)")
        }
    }

    static func drop(_ name: String) throws {
        let (objects, _) = try objects(name)
        for view in objects.views { try dropViewIfThere(view) }
        let triggers = try SPI.query("""
            SELECT '"' || tgname || '"' AS name FROM pg_catalog.pg_trigger
             WHERE tgrelid = $1::oid AND '"' || tgname || '"' = ANY ($2::text[])
            """, [String(objects.relid), PostgresArray.literal(objects.triggerNames)])
        for trigger in triggers.compactMap({ $0["name"]?.text }) {
            try SPI.execute("DROP TRIGGER \(trigger) ON \(objects.relation)")
        }
        if try SPI.query("SELECT pg_catalog.to_regprocedure($1) IS NOT NULL AS there", [objects.captureFunction + "()"])
            .first?["there"] == .bool(true) {
            try SPI.execute("DROP FUNCTION \(objects.captureFunction)()")
        }
        for table in ["dictionary_delta", "dictionary_entry", "dictionary_entry_history"] {
            try SPI.execute("DELETE FROM augur.\(table) WHERE dictionary = $1::int", [String(objects.id)])
        }
        try SPI.execute("DELETE FROM augur.dictionary WHERE id = $1::int", [String(objects.id)])
    }

    /// The worker's part: each dictionary with changes to count, once
    /// augur.dictionary_interval has passed since its last version, in a statement of its
    /// own (all of it or none), unless its privacy budget is spent. A failure is logged in
    /// augur.action_log; unless it was a lock wait, the dictionary is paused with it.
    static func refreshDue() throws {
        let due = try SPI.query("""
            SELECT d.id, d.name FROM augur.dictionary d
             WHERE NOT d.paused AND current_setting('augur.dictionary_interval')::interval > interval '0'
               AND coalesce(d.refreshed_at < now() - current_setting('augur.dictionary_interval')::interval, true)
               AND (d.recounts OR d.problem IS NOT NULL
                    OR EXISTS (SELECT 1 FROM augur.dictionary_delta c WHERE c.dictionary = d.id))
               AND NOT coalesce((SELECT sum(v.epsilon) FROM augur.dictionary_version v WHERE v.dictionary = d.id)
                                + (d.options ->> 'epsilon')::float8 > (d.options ->> 'epsilon_budget')::float8, false)
             ORDER BY d.refreshed_at NULLS FIRST
            """)
        for row in due {
            do {
                try SPI.execute("SELECT augur.dictionary_next_version($1::int, false)", [row["id"]?.int.map(String.init)])
            } catch let error as PGError where !error.isInterruption {
                try SPI.execute("""
                    INSERT INTO augur.action_log (actor, action, outcome, error)
                    VALUES ('augur collector', 'dictionary refresh', $1, $2)
                    """, ["dictionary \(row["name"]?.text ?? "?") unchanged", error.message])
                // A lock waited for too long is tried again next cycle; any other failure
                // would recur every cycle: the dictionary waits for augur.dictionary_refresh.
                if !["55P03", "40001", "40P01"].contains(error.sqlstate.description) {
                    try SPI.execute("UPDATE augur.dictionary SET paused = true, problem = $2 WHERE id = $1::int",
                                    [row["id"]?.int.map(String.init), error.message])
                }
            }
        }
    }
}

@_cdecl("augur_swift_dictionary_create")
func augurSwiftDictionaryCreate(_ relid: UInt32, _ column: UnsafePointer<CChar>, _ target: UnsafePointer<CChar>?,
                                _ options: UnsafePointer<CChar>, _ name: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                                _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try hand(try Dictionaries.create(relid: relid, column: String(cString: column),
                                         target: target.map { String(cString: $0) },
                                         optionsJSON: String(cString: options)), to: name)
    }
}

@_cdecl("augur_swift_dictionary_view")
func augurSwiftDictionaryView(_ name: UnsafePointer<CChar>, _ view: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                              _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try hand(try Dictionaries.createRowsView(String(cString: name)), to: view)
    }
}

@_cdecl("augur_swift_dictionary_drop")
func augurSwiftDictionaryDrop(_ name: UnsafePointer<CChar>, _ error: UnsafeMutablePointer<augur_error>) -> Bool {
    reportingErrors(error, fallback: false) {
        try Dictionaries.drop(String(cString: name))
        return true
    }
}

import AugurCore

/// augur.recommendation, as every advisor keeps it: a refresh replaces what was only
/// proposed, keeps what a DBA approved, and never proposes again what they rejected.
enum Recommendations {
    /// One recommendation as an advisor hands it over.
    struct Row {
        var target: String
        var ddl: String
        var rollbackDDL: String?
        /// One line a DBA reads.
        var reason: String
        /// JSON text.
        var evidence: String
        var benefit: Double
        /// What it takes (an index) or frees (a drop), where a budget counts it.
        var bytes: Double = 0
    }

    /// Makes `rows` the open `kind` recommendations of this database: the other proposals
    /// of the kind (only those with a target in `within`, when given) are forgotten, the
    /// rows upserted.
    static func store(kind: String, _ rows: [Row], within: [String]? = nil) throws {
        try SPI.execute(forgetStale(kind: kind), [PostgresArray.literal(rows.map(\.target)), within.map(PostgresArray.literal)])
        guard !rows.isEmpty else { return }
        let columns: [(Row) -> String?] = [\.target, \.ddl, \.rollbackDDL, \.reason, \.evidence, { JSONText.number($0.benefit) }]
        try SPI.execute(upsert(kind: kind), columns.map { column in PostgresArray.literal(rows.map(column)) })
    }

    /// Deletes the `kind` proposals whose target is not among $1 (text[]), of those whose
    /// target is among $2 (all when NULL).
    private static func forgetStale(kind: String) -> String {
        """
        DELETE FROM augur.recommendation
         WHERE dbid = \(currentDatabaseOID) AND kind = '\(kind)' AND status = 'proposed' AND target <> ALL ($1::text[])
           AND ($2::text[] IS NULL OR target = ANY ($2::text[]))
        """
    }

    /// Upserts `kind` recommendations from arrays: $1 target, $2 ddl, $3 rollback_ddl,
    /// $4 reason, $5 evidence (JSON text), $6 estimated benefit.
    private static func upsert(kind: String) -> String {
        """
        INSERT INTO augur.recommendation AS r (dbid, kind, target, ddl, rollback_ddl, reason, evidence, estimated_benefit)
        SELECT \(currentDatabaseOID), '\(kind)', s.target, s.ddl, s.rollback_ddl, s.reason, s.evidence::jsonb, s.benefit
          FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[])
               AS s(target, ddl, rollback_ddl, reason, evidence, benefit)
         WHERE NOT EXISTS (SELECT 1 FROM augur.recommendation x
                            WHERE x.dbid = \(currentDatabaseOID) AND x.kind = '\(kind)' AND x.target = s.target
                              AND x.status = 'rejected')
        ON CONFLICT (dbid, kind, target) WHERE status IN ('proposed', 'simulated', 'approved') DO UPDATE SET
            ddl = excluded.ddl, rollback_ddl = excluded.rollback_ddl, reason = excluded.reason,
            evidence = excluded.evidence, estimated_benefit = excluded.estimated_benefit, updated_at = now()
        """
    }
}

extension SchemaChange {
    /// As augur.recommendation keeps it, with its simulation in the evidence (and the bytes
    /// a measured index takes, which `TrigramIndexCandidates.measured` puts in the facts).
    func row(simulation: String) -> Recommendations.Row {
        Recommendations.Row(target: target, ddl: ddl, rollbackDDL: rollbackDDL, reason: reason,
                            evidence: JSONText.object(facts + [("simulation", simulation)]), benefit: estimatedBenefit,
                            bytes: facts.first { $0.0 == "bytes" }.flatMap { Double($0.1) } ?? 0)
    }
}

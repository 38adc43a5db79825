import AugurCore

/// augur.recommendation, as both index advisors keep it: a refresh replaces what was only
/// proposed, keeps what a DBA approved, and never proposes again what they rejected.
enum Recommendations {
    /// Deletes the `kind` proposals whose target is not among $1 (text[]).
    static func forgetStale(kind: String) -> String {
        """
        DELETE FROM augur.recommendation
         WHERE dbid = \(currentDatabaseOID) AND kind = '\(kind)' AND status = 'proposed' AND target <> ALL ($1::text[])
        """
    }

    /// Upserts `kind` recommendations from arrays: $1 target, $2 ddl, $3 rollback_ddl,
    /// $4 reason, $5 evidence (JSON text), $6 estimated benefit.
    static func upsert(kind: String) -> String {
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

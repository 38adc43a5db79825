-- Augur 0.1.0: the foundation. Later versions are reached through augur--A--B.sql upgrade scripts;
-- CREATE EXTENSION runs this script and then the upgrade path, so a fresh install and an upgrade are the same.
\echo Use "CREATE EXTENSION augur" to load this file. \quit

-- The library's version (which may differ from the installed SQL version after an upgrade
-- of the package; the collector logs a warning then).
CREATE FUNCTION augur.version() RETURNS text
    LANGUAGE c STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'augur_sql_version';

-- The collector's state, read from shared memory. Needs the library preloaded.
CREATE FUNCTION augur.worker_status(
    OUT pid integer,
    OUT state text,
    OUT started_at timestamptz,
    OUT last_cycle_at timestamptz,
    OUT cycles bigint,
    OUT last_error_at timestamptz,
    OUT last_error text,
    OUT database text)
    RETURNS record
    LANGUAGE c STRICT VOLATILE
    AS 'MODULE_PATHNAME', 'augur_sql_worker_status';

CREATE VIEW augur.worker_status AS SELECT * FROM augur.worker_status();

-- Augur's GUCs, their values and what they do.
CREATE VIEW augur.settings AS
    SELECT name, setting, unit, context, vartype, boot_val AS default_value,
           short_desc AS description, extra_desc AS details, pending_restart
      FROM pg_catalog.pg_settings
     WHERE name LIKE 'augur.%'
     ORDER BY name;

REVOKE ALL ON FUNCTION augur.worker_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION augur.worker_status() TO pg_read_all_stats;
REVOKE ALL ON augur.worker_status FROM PUBLIC;
GRANT SELECT ON augur.worker_status TO pg_read_all_stats;
GRANT SELECT ON augur.settings TO PUBLIC;
GRANT USAGE ON SCHEMA augur TO PUBLIC;

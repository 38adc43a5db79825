#!/usr/bin/env python3
"""Compare Augur's hand-written column lineage expectations with two static-SQL peers.

Reads Tests/lineage-cases/schema.sql and Tests/lineage-cases/cases.sql (the 67-case suite
Augur's integration tests run against a live server) and runs the same statements through

    sqlglot     sqlglot.lineage.lineage() with a schema, behind a thin adapter (below)
    sqllineage  LineageRunner(sql, dialect="postgres").get_column_lineage(), run twice:
                as is ("sqllineage") and with metadata_provider=DummyMetaDataProvider(schema)
                ("sqllineage+schema")

Neither peer has subtypes, and both trace only the values a column is computed from, so
the main comparison is on Augur's DIRECT edges (IDENTITY, TRANSFORMATION, AGGREGATION)
reduced to (target column, source column) pairs. Per case it prints whether each peer's
pair set equals the expected one; then per peer, over all cases, recall and precision of
those pairs, how many expected INDIRECT edges (FILTER, JOIN, GROUP_BY, SORT, WINDOW,
CONDITIONAL) the peer reports at all, and which cases it errors on. With -v it lists the
missing and extra pairs of every case that does not match.

The sqlglot adapter: sqlglot.lineage only walks queries, so for every writing statement
the script builds the query whose projections produce the written values, aliases the
projections _t0, _t1, ... and maps them to the target columns by position:
    INSERT ... SELECT          the SELECT (with the statement's WITH)
    CREATE TABLE/VIEW AS, SELECT INTO, CREATE MATERIALIZED VIEW   the defining query
    UPDATE t SET c = e FROM f WHERE w      SELECT e FROM t, f WHERE w
    MERGE INTO t USING s ON j  per action  SELECT <SET or VALUES exprs> FROM t JOIN s ON j
Anything else (COPY, REFRESH, SET/RESET, a bare function call, INSERT ... VALUES) has no
query to walk and is reported as giving no edges ("no query" in the notes), which is
what sqlglot itself can offer there. sqllineage gets the raw statements unchanged.

sqlglot and sqllineage+schema get the same schema (table -> ordered column list) from schema.sql:
views as tables with the view's output columns, the partition events_2026 with the
columns of events, and tables/views created by earlier cases added as the suite goes.

Names are compared case-insensitively with "public." dropped; sqllineage folds quoted
identifiers to lower case ("Audit Log"."Note" -> audit log.note), which is a real defect
for PostgreSQL but would otherwise turn one correct pair into a miss.

    python3 bench/lineage_compare.py [-v]

Installs the pinned peer versions with pip if they are not importable.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PINNED = {"sqlglot": "30.30.0", "sqllineage": "1.5.9"}

REPO = Path(__file__).resolve().parent.parent
CASES_DIR = REPO / "Tests" / "lineage-cases"

DIRECT_SUBTYPES = {"IDENTITY", "TRANSFORMATION", "AGGREGATION"}
INDIRECT_SUBTYPES = {"FILTER", "JOIN", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL"}


def ensure_peers() -> None:
    """pip-install the pinned peers if either is missing; warn if other versions are present."""
    missing = []
    for name in PINNED:
        try:
            __import__(name)
        except ImportError:
            missing.append(f"{name}=={PINNED[name]}")
    if missing:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *missing])
    for name, pin in PINNED.items():
        have = importlib.metadata.version(name)
        if have != pin:
            print(f"note: {name} {have} installed, results were measured with {pin}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# Names: every column is compared as a canonical "schema.table.column" string, lower case,
# quotes removed, "public." dropped, so both sides of the comparison look alike.


def split_dotted(name: str) -> list[str]:
    """Split schema.table.column on dots outside double quotes, unquoting the parts."""
    parts, cur, quoted = [], "", False
    for ch in name:
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def canon(schema: str | None, table: str, column: str) -> str:
    schema = (schema or "public").lower()
    if schema in ("public", "<default>"):
        return f"{table}.{column}".lower()
    return f"{schema}.{table}.{column}".lower()


def canon_text(name: str) -> str:
    """Canonical form of a column as written in an expect line (program:1 stays as is)."""
    if ":" in name and not name.startswith('"'):
        return name.lower()
    parts = split_dotted(name)
    if len(parts) == 2:
        return canon(None, parts[0], parts[1])
    return canon(parts[0], parts[1], parts[2])


# ---------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Edge:
    target: str
    source: str
    subtype: str


@dataclass
class Case:
    name: str
    sql_lines: list[str] = field(default_factory=list)
    expected: list[Edge] = field(default_factory=list)

    @property
    def statements(self) -> list[str]:
        """The case's statements: each ends at a line ending with ';' (true of the suite)."""
        stmts, cur = [], []
        for line in self.sql_lines:
            cur.append(line)
            if line.rstrip().endswith(";"):
                stmts.append("\n".join(cur).strip().rstrip(";"))
                cur = []
        if any(l.strip() for l in cur):
            stmts.append("\n".join(cur).strip())
        return stmts

    def expected_pairs(self, subtypes: set[str]) -> set[tuple[str, str]]:
        return {(canon_text(e.target), canon_text(e.source)) for e in self.expected if e.subtype in subtypes}


def parse_cases(path: Path) -> list[Case]:
    """Lines '-- case: ' open a case, '-- expect: ' lines append, other '--' lines are ignored."""
    cases: list[Case] = []
    for line in path.read_text().splitlines():
        if line.startswith("-- case: "):
            cases.append(Case(line[len("-- case: "):].strip()))
        elif line.startswith("-- expect: "):
            m = re.fullmatch(r"(\S+(?: \S+)*?) <- (\S+) (\w+)", line[len("-- expect: "):].strip())
            if not m:
                raise ValueError(f"bad expect line: {line}")
            cases[-1].expected.append(Edge(m[1], m[2], m[3]))
        elif line.startswith("--"):
            continue
        elif cases:
            cases[-1].sql_lines.append(line)
    return cases


# Schema: ordered column lists keyed by (schema, table), shared by both peers and extended
# as cases create tables and views.
Catalog = dict[tuple[str, str], list[str]]


def table_key(table_name: str) -> tuple[str, str]:
    parts = split_dotted(table_name.strip())
    return ("public", parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def parse_schema(path: Path) -> Catalog:
    """CREATE TABLE column lists by regex; partitions copy their parent; views via sqlglot."""
    import sqlglot

    text = path.read_text()
    catalog: Catalog = {}
    for m in re.finditer(r"CREATE TABLE ([\w.\"]+(?: [\w\"]+)?) \((.*?)\)(?: PARTITION BY|;)", text):
        cols = [split_dotted(c.strip().split(" ")[0] if not c.strip().startswith('"')
                             else c.strip()[: c.strip().index('"', 1) + 1])[0]
                for c in m[2].split(",")]
        catalog[table_key(m[1])] = cols
    for m in re.finditer(r"CREATE TABLE (\w+) PARTITION OF (\w+)", text):
        catalog[table_key(m[1])] = list(catalog[table_key(m[2])])
    for m in re.finditer(r"(CREATE VIEW .*?);", text, re.S):
        create = sqlglot.parse_one(m[1], dialect="postgres")
        catalog[table_key(create.this.sql(dialect="postgres"))] = [
            s.alias_or_name for s in create.expression.selects]
    return catalog


# ---------------------------------------------------------------------------------------
# Peer results


@dataclass
class PeerResult:
    pairs: set[tuple[str, str]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- sqlglot -----------------------------------------------------------------------------


def sqlglot_schema(catalog: Catalog):
    from sqlglot.schema import MappingSchema

    nested: dict = {}
    for (schema, table), cols in catalog.items():
        nested.setdefault(schema, {})[table] = {c: "text" for c in cols}
    # normalize=False keeps "Audit Log"/"Note" as written; every other name is lower case.
    return MappingSchema(nested, dialect="postgres", normalize=False)


def aliased_query(query, with_=None):
    """Copy of query with its top-level projections aliased _t0.. (positions, not names)."""
    from sqlglot import exp

    query = query.copy()
    if with_ is not None and not query.args.get("with_"):
        query.set("with_", with_.copy())
    leftmost = query
    while isinstance(leftmost, exp.SetOperation):
        leftmost = leftmost.this
    for i, proj in enumerate(list(leftmost.selects)):
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        proj.replace(exp.alias_(inner.copy(), f"_t{i}"))
    return query


def query_for_writes(stmt, catalog: Catalog):
    """[(target (schema, table), [target columns], query)] for one parsed statement."""
    from sqlglot import exp

    def key(table: exp.Table) -> tuple[str, str]:
        return (table.db or "public", table.name)

    if isinstance(stmt, exp.Insert):
        target = stmt.this
        cols = None
        if isinstance(target, exp.Schema):
            cols = [c.name for c in target.expressions]
            target = target.this
        query = stmt.expression
        if not isinstance(query, exp.Query) or isinstance(query, exp.Values):
            return []  # INSERT ... VALUES: no query, no column sources
        cols = cols or catalog.get(key(target), [])
        return [(key(target), cols, aliased_query(query, stmt.args.get("with_")))]

    if isinstance(stmt, exp.Create) and isinstance(stmt.expression, exp.Query):
        names = [s.alias_or_name for s in _leftmost(stmt.expression).selects]
        return [(key(stmt.this), names, aliased_query(stmt.expression))]

    if isinstance(stmt, exp.Select) and stmt.args.get("into"):
        query = stmt.copy()
        into = query.args["into"].this
        query.set("into", None)
        return [(key(into), [s.alias_or_name for s in query.selects], aliased_query(query))]

    if isinstance(stmt, exp.Update):
        # UPDATE t SET c = e FROM f WHERE w  ->  SELECT e FROM t, f WHERE w
        cols = [eq.this.name for eq in stmt.expressions]
        query = exp.select(*[eq.expression.copy() for eq in stmt.expressions]).from_(stmt.this.copy())
        if stmt.args.get("from_"):
            query = query.join(stmt.args["from_"].this.copy())
        if stmt.args.get("where"):
            query = query.where(stmt.args["where"].this.copy())
        return [(key(stmt.this), cols, aliased_query(query, stmt.args.get("with_")))]

    if isinstance(stmt, exp.Merge):
        # Each WHEN action: SELECT <its values> FROM target JOIN source ON <merge condition>
        writes = []
        for when in stmt.args["whens"].expressions:
            action = when.args.get("then")
            if isinstance(action, exp.Update):
                cols = [eq.this.name for eq in action.expressions]
                values = [eq.expression for eq in action.expressions]
            elif isinstance(action, exp.Insert):
                cols = [c.name for c in action.this.expressions]
                values = list(action.expression.expressions)
            else:
                continue
            query = (exp.select(*[v.copy() for v in values]).from_(stmt.this.copy())
                     .join(stmt.args["using"].copy(), on=stmt.args["on"].copy()))
            writes.append((key(stmt.this), cols, aliased_query(query)))
        return writes

    return None  # a statement with no query to walk


def _leftmost(query):
    from sqlglot import exp

    while isinstance(query, exp.SetOperation):
        query = query.this
    return query


def run_sqlglot(case: Case, catalog: Catalog) -> PeerResult:
    import sqlglot
    from sqlglot import exp
    from sqlglot.lineage import lineage

    result = PeerResult()
    for sql in case.statements:
        try:
            stmt = sqlglot.parse_one(sql, dialect="postgres")
            writes = query_for_writes(stmt, catalog)
            if writes is None:
                result.notes.append(f"no query ({sql.split()[0].upper()})")
                continue
            for target, cols, query in writes:
                nodes = lineage(None, query, schema=sqlglot_schema(catalog), dialect="postgres", db="public")
                for i, col in enumerate(cols):
                    root = nodes.get(f"_t{i}")
                    if root is None:
                        continue
                    for node in root.walk():
                        src = node.source
                        # Leaves are columns of a FROM item; a function in FROM
                        # (generate_series) is not a table, so it is no column source.
                        if node.downstream or not isinstance(src, exp.Table) or not isinstance(src.this, exp.Identifier):
                            continue
                        column = split_dotted(node.name)[-1]
                        result.pairs.add((canon(*target, col), canon(src.db or None, src.name, column)))
                remember_created(stmt, target, cols, catalog)
        except Exception as e:  # parse or lineage failure: report it, keep going
            result.errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
    return result


def remember_created(stmt, target, cols, catalog: Catalog) -> None:
    """CREATE TABLE/VIEW AS and SELECT INTO add a table later cases may read."""
    from sqlglot import exp

    if isinstance(stmt, exp.Create) or (isinstance(stmt, exp.Select) and stmt.args.get("into")):
        catalog[target] = list(cols)


# --- sqllineage --------------------------------------------------------------------------


def run_sqllineage(case: Case, catalog: Catalog | None) -> PeerResult:
    from sqllineage.core.metadata.dummy import DummyMetaDataProvider
    from sqllineage.runner import LineageRunner

    # Keys as sqllineage builds them: "<default>.table" for unqualified names, case kept.
    metadata = DummyMetaDataProvider(
        {f"{'<default>' if s == 'public' else s}.{t}": cols for (s, t), cols in catalog.items()}
        if catalog is not None else None)
    result = PeerResult()
    for sql in case.statements:
        try:
            paths = LineageRunner(sql + ";", dialect="postgres", metadata_provider=metadata).get_column_lineage()
        except Exception as e:
            result.errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:80]}")
            continue
        if not paths and re.match(r"(?i)\s*(copy|refresh|set|reset|select \w+\()", sql):
            result.notes.append(f"nothing ({sql.split()[0].upper()})")
        for path in paths:  # path[0] is the source column, path[-1] the target column
            src, dst = path[0], path[-1]
            result.pairs.add((column_canon(dst), column_canon(src)))
    return result


def column_canon(col) -> str:
    from sqllineage.core.models import Table

    parent = col.parent
    if isinstance(parent, Table):
        return canon(str(parent.schema), parent.raw_name, col.raw_name)
    return canon(None, str(parent), col.raw_name)  # subquery/unresolved: keep its name


# ---------------------------------------------------------------------------------------
# Comparison and report


@dataclass
class Score:
    exact: int = 0
    expected: int = 0
    reported: int = 0
    hit: int = 0
    indirect_expected: int = 0
    indirect_hit: int = 0
    errored: list[str] = field(default_factory=list)


def compare(case: Case, res: PeerResult, score: Score) -> tuple[bool, str]:
    want = case.expected_pairs(DIRECT_SUBTYPES)
    indirect = case.expected_pairs(INDIRECT_SUBTYPES) - want  # pairs that are only indirect
    got = res.pairs
    exact = not res.errors and got == want
    score.exact += exact
    score.expected += len(want)
    score.reported += len(got)
    score.hit += len(want & got)
    n_indirect_edges = sum(1 for e in case.expected if e.subtype in INDIRECT_SUBTYPES)
    score.indirect_expected += n_indirect_edges
    score.indirect_hit += sum(1 for e in case.expected if e.subtype in INDIRECT_SUBTYPES
                              and (canon_text(e.target), canon_text(e.source)) in got
                              and (canon_text(e.target), canon_text(e.source)) in indirect)
    if res.errors:
        score.errored.append(case.name)
    note = []
    if res.errors:
        note.append("error")
    note += sorted(set(res.notes))
    if not exact and not res.errors:
        missing, extra = len(want - got), len(got - want)
        extra_indirect = len((got - want) & indirect)
        note.append(f"-{missing} +{extra}" + (f" ({extra_indirect} are INDIRECT pairs)" if extra_indirect else ""))
    return exact, ", ".join(note)


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true", help="list missing/extra pairs per case")
    args = ap.parse_args()

    ensure_peers()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" chatter

    cases = parse_cases(CASES_DIR / "cases.sql")
    # One catalog for both peers; the sqlglot adapter adds the tables and views cases create.
    catalog = parse_schema(CASES_DIR / "schema.sql")
    # sqllineage runs twice: as documented (no metadata) and with the same schema sqlglot
    # gets; neither is uniformly better (see lineage_compare.md).
    peers = {"sqlglot": lambda case: run_sqlglot(case, catalog),
             "sqllineage": lambda case: run_sqllineage(case, None),
             "sqllineage+schema": lambda case: run_sqllineage(case, catalog)}
    scores = {name: Score() for name in peers}

    rows, details = [], []
    for case in cases:
        row = [case.name, str(len(case.expected_pairs(DIRECT_SUBTYPES)))]
        notes = []
        for name, run in peers.items():
            res = run(case)
            exact, note = compare(case, res, scores[name])
            row.append("yes" if exact else ("ERR" if res.errors else "no"))
            if note:
                notes.append(f"{name}: {note}")
            if not exact and args.verbose:
                want = case.expected_pairs(DIRECT_SUBTYPES)
                details.append(f"[{case.name}] {name}")
                details += [f"    error   {e}" for e in res.errors]
                details += [f"    missing {t} <- {s}" for t, s in sorted(want - res.pairs)]
                details += [f"    extra   {t} <- {s}" for t, s in sorted(res.pairs - want)]
        row.append("; ".join(notes))
        rows.append(row)

    header = ["case", "#direct", *peers, "notes"]
    n = len(header) - 1
    widths = [min(60, max(len(r[i]) for r in rows + [header])) for i in range(n)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths + [0])))
    for r in rows:
        print("  ".join([r[0][:60].ljust(widths[0])] + [c.ljust(w) for c, w in zip(r[1:n], widths[1:])] + [r[n]]))
    if details:
        print("\nDifferences on DIRECT pairs (target <- source):")
        print("\n".join(details))

    print()
    for name, sc in scores.items():
        print(f"{name}: {sc.exact}/{len(cases)} cases exact on DIRECT edges, "
              f"recall {pct(sc.hit, sc.expected)}, precision {pct(sc.hit, sc.reported)}; "
              f"INDIRECT edges reported: {sc.indirect_hit} of {sc.indirect_expected}"
              + (" (only as plain value sources, never as filter/join)" if sc.indirect_hit else "")
              + (f"; errors in {len(sc.errored)} cases: {', '.join(sc.errored)}" if sc.errored else ""))


if __name__ == "__main__":
    main()

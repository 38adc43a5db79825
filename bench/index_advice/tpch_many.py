"""A workload of 1,000 statement shapes for the index-advice benchmark
(bench/index_advice/run.py --workload tpch1000): how long the advice takes when the
captured workload is wide, not deep.

The tables and data of tpch_like.py, its 21 shapes, and 979 more drawn once (seeded, so
every run has the same ones): a table, none to two tables joined to it along TPC-H's
foreign keys, one to three filters on columns with known value ranges (equality, a range
or an IN list), and one to three columns read. Each is its own query id: no two have the
same tables, filters and columns read. Weights are all 1, so the training run sends each
a few times.
"""

import random

import tpch_like
from tpch_like import SEGMENTS, PRIORITIES, SHIPMODES, CONTAINERS, TYPES, TABLES, dims, schema_sql, load_sql
from workload import Shape

SHAPE_COUNT = 1000

# Join partners along foreign keys: (table, the join condition).
JOINS = {
    "lineitem": [("orders", "l_orderkey = o_orderkey"), ("part", "l_partkey = p_partkey"),
                 ("supplier", "l_suppkey = s_suppkey")],
    "orders": [("customer", "o_custkey = c_custkey"), ("lineitem", "l_orderkey = o_orderkey")],
    "customer": [("orders", "o_custkey = c_custkey"), ("nation", "c_nationkey = n_nationkey")],
    "part": [("partsupp", "ps_partkey = p_partkey"), ("lineitem", "l_partkey = p_partkey")],
    "partsupp": [("part", "ps_partkey = p_partkey"), ("supplier", "ps_suppkey = s_suppkey")],
    "supplier": [("nation", "s_nationkey = n_nationkey"), ("partsupp", "ps_suppkey = s_suppkey")],
    "nation": [("customer", "c_nationkey = n_nationkey"), ("supplier", "s_nationkey = n_nationkey")],
}


def _words(values):
    return lambda rng, d: "'" + rng.choice(values) + "'"


def _key(table):
    return lambda rng, d: str(rng.randint(1, d[table]))


def _date(rng, d):
    return "date '" + tpch_like._date(rng) + "'"


# Filterable columns, each with a generator of one constant.
COLUMNS = {
    "lineitem": {"l_partkey": _key("part"), "l_suppkey": _key("supplier"), "l_orderkey": _key("orders"),
                 "l_quantity": lambda rng, d: str(rng.randint(1, 50)), "l_shipdate": _date, "l_commitdate": _date,
                 "l_receiptdate": _date, "l_shipmode": _words(SHIPMODES), "l_returnflag": _words(["R", "A", "N"])},
    "orders": {"o_custkey": _key("customer"), "o_orderdate": _date, "o_orderstatus": _words(["F", "O", "P"]),
               "o_orderpriority": _words(PRIORITIES), "o_totalprice": lambda rng, d: str(rng.randint(1000, 400000))},
    "customer": {"c_nationkey": lambda rng, d: str(rng.randint(0, 24)), "c_mktsegment": _words(SEGMENTS),
                 "c_acctbal": lambda rng, d: str(rng.randint(-999, 9999))},
    "part": {"p_size": lambda rng, d: str(rng.randint(1, 50)), "p_container": _words(CONTAINERS),
             "p_type": _words(TYPES), "p_retailprice": lambda rng, d: str(rng.randint(900, 1000))},
    "partsupp": {"ps_availqty": lambda rng, d: str(rng.randint(1, 9999)),
                 "ps_supplycost": lambda rng, d: str(rng.randint(1, 1000))},
    "supplier": {"s_nationkey": lambda rng, d: str(rng.randint(0, 24)),
                 "s_acctbal": lambda rng, d: str(rng.randint(-999, 9999))},
    "nation": {"n_regionkey": lambda rng, d: str(rng.randint(0, 4))},
}


def _generated(count, seed=7):
    rng = random.Random(seed)
    seen, shapes = set(), []
    while len(shapes) < count:
        root = rng.choice(list(COLUMNS))
        tables, conditions = [root], []
        for _ in range(rng.randint(0, 2)):
            partner, condition = rng.choice(JOINS[tables[-1]])
            if partner not in tables:
                tables.append(partner)
                conditions.append(condition)
        pool = [(t, c) for t in tables for c in COLUMNS[t]]
        filters = tuple(sorted((c, rng.choice(["=", "range", "in"])) for _, c in rng.sample(pool, min(len(pool), rng.randint(1, 3)))))
        read = tuple(sorted(rng.sample([c for _, c in pool], min(len(pool), rng.randint(1, 3)))))
        key = (tuple(sorted(tables)), filters, read)
        if key in seen:
            continue
        seen.add(key)
        generators = {c: g for t in tables for c, g in COLUMNS[t].items()}
        shapes.append(Shape(f"g{len(shapes):03d}_{'_'.join(tables)}", 1,
                            _statement(tables, conditions, filters, read, generators)))
    return shapes


def _order(constant):
    """Numbers by value, dates and words as text."""
    try:
        return (0, float(constant), "")
    except ValueError:
        return (1, 0.0, constant)


def _statement(tables, conditions, filters, read, generators):
    def sql(rng, d):
        where = list(conditions)
        for column, op in filters:
            value = generators[column]
            if op == "=":
                where.append(f"{column} = {value(rng, d)}")
            elif op == "in":
                where.append(f"{column} IN ({value(rng, d)}, {value(rng, d)}, {value(rng, d)})")
            else:
                low, high = sorted([value(rng, d), value(rng, d)], key=_order)
                where.append(f"{column} BETWEEN {low} AND {high}")
        return f"SELECT {', '.join(read)} FROM {', '.join(tables)} WHERE {' AND '.join(where)} LIMIT 100"
    return sql


SHAPES = tpch_like.SHAPES + _generated(SHAPE_COUNT - len(tpch_like.SHAPES))

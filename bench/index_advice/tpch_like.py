"""A TPC-H-like workload for the index-advice benchmark (bench/index_advice/run.py
--workload tpch): where advice time goes is planning many-way joins, and this is the
shape of workload that made it slow.

TPC-H's eight tables with their key columns and the columns its queries filter, filled
uniformly by SQL (setseed first), primary keys only. At scale 1 (TPC-H's SF 0.1):

    region 5, nation 25, supplier 1,000, customer 15,000, part 20,000, partsupp 80,000,
    orders 150,000, lineitem ~600,000 (1 to 7 lines per order)

SHAPES: 22 shapes after TPC-H's queries (the pricing summary, shipping priority, order
priority, local supplier volume, forecasting revenue, returned items, shipping modes,
promotion effect, discounted revenue, minimum cost supplier, important stock, customer
distribution, parts/supplier relationship, large volume customer, suppliers who kept
orders waiting) with literal constants, plus point lookups, a phone prefix search and two
writes. Each shape's instances normalise to one query id.

Uses only the Python 3 standard library, like workload.py, whose interface it has
(TABLES, dims, schema_sql, load_sql, SHAPES).
"""

import datetime

from workload import Shape

TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]

REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
NATIONS = ["ALGERIA", "ARGENTINA", "BRAZIL", "CANADA", "EGYPT", "ETHIOPIA", "FRANCE", "GERMANY",
           "INDIA", "INDONESIA", "IRAN", "IRAQ", "JAPAN", "JORDAN", "KENYA", "MOROCCO",
           "MOZAMBIQUE", "PERU", "CHINA", "ROMANIA", "SAUDI ARABIA", "VIETNAM", "RUSSIA",
           "UNITED KINGDOM", "UNITED STATES"]
SEGMENTS = ["AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"]
PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
SHIPMODES = ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"]
CONTAINERS = ["SM CASE", "SM BOX", "SM PACK", "MED BAG", "MED BOX", "LG CASE", "LG BOX", "WRAP JAR"]
TYPES = ["STANDARD ANODIZED TIN", "SMALL PLATED BRASS", "MEDIUM BURNISHED COPPER",
         "LARGE BRUSHED STEEL", "ECONOMY POLISHED NICKEL", "PROMO PLATED BRASS"]
START = datetime.date(1992, 1, 1)
DAYS = 2400


def dims(scale):
    """Row counts for a scale factor (1.0: TPC-H's SF 0.1)."""
    orders = max(1500, int(150_000 * scale))
    return {
        "region": 5, "nation": 25,
        "supplier": max(10, int(1_000 * scale)),
        "customer": max(150, int(15_000 * scale)),
        "part": max(200, int(20_000 * scale)),
        "partsupp": 4 * max(200, int(20_000 * scale)),
        "orders": orders,
        "lineitem": sum(1 + o % 7 for o in range(1, orders + 1)),
    }


def _array(items):
    return "ARRAY[" + ",".join("'" + w + "'" for w in items) + "]"


def schema_sql():
    return """
CREATE TABLE region (r_regionkey int NOT NULL, r_name text NOT NULL);
CREATE TABLE nation (n_nationkey int NOT NULL, n_name text NOT NULL, n_regionkey int NOT NULL);
CREATE TABLE supplier (s_suppkey int NOT NULL, s_name text NOT NULL, s_nationkey int NOT NULL,
                       s_acctbal numeric(12,2) NOT NULL);
CREATE TABLE customer (c_custkey int NOT NULL, c_name text NOT NULL, c_nationkey int NOT NULL,
                       c_phone text NOT NULL, c_acctbal numeric(12,2) NOT NULL, c_mktsegment text NOT NULL);
CREATE TABLE part (p_partkey int NOT NULL, p_name text NOT NULL, p_brand text NOT NULL, p_type text NOT NULL,
                   p_size int NOT NULL, p_container text NOT NULL, p_retailprice numeric(12,2) NOT NULL);
CREATE TABLE partsupp (ps_partkey int NOT NULL, ps_suppkey int NOT NULL, ps_availqty int NOT NULL,
                       ps_supplycost numeric(12,2) NOT NULL);
CREATE TABLE orders (o_orderkey int NOT NULL, o_custkey int NOT NULL, o_orderstatus text NOT NULL,
                     o_totalprice numeric(12,2) NOT NULL, o_orderdate date NOT NULL, o_orderpriority text NOT NULL,
                     o_shippriority int NOT NULL, o_comment text NOT NULL);
CREATE TABLE lineitem (l_orderkey int NOT NULL, l_linenumber int NOT NULL, l_partkey int NOT NULL,
                       l_suppkey int NOT NULL, l_quantity numeric(12,2) NOT NULL,
                       l_extendedprice numeric(12,2) NOT NULL, l_discount numeric(12,2) NOT NULL,
                       l_tax numeric(12,2) NOT NULL, l_returnflag text NOT NULL, l_linestatus text NOT NULL,
                       l_shipdate date NOT NULL, l_commitdate date NOT NULL, l_receiptdate date NOT NULL,
                       l_shipmode text NOT NULL);
"""


def load_sql(d):
    """(table, SQL) steps that fill the tables, then the primary keys."""
    return [
        ("region", f"""
INSERT INTO region SELECT g - 1, ({_array(REGIONS)})[g] FROM generate_series(1, 5) g"""),
        ("nation", f"""
INSERT INTO nation SELECT g - 1, ({_array(NATIONS)})[g], (g - 1) % 5 FROM generate_series(1, 25) g"""),
        ("supplier", f"""
SELECT setseed(0.1);
INSERT INTO supplier SELECT g, 'Supplier#' || g, floor(random() * 25)::int, round((random() * 11000 - 1000)::numeric, 2)
  FROM generate_series(1, {d['supplier']}) g"""),
        ("customer", f"""
SELECT setseed(0.2);
INSERT INTO customer
SELECT g, 'Customer#' || g, n, (10 + n) || '-' || (100 + floor(random() * 900)::int) || '-' || floor(random() * 10000)::int,
       round((random() * 11000 - 1000)::numeric, 2), ({_array(SEGMENTS)})[1 + floor(random() * 5)::int]
  FROM (SELECT g, floor(random() * 25)::int AS n FROM generate_series(1, {d['customer']}) g) s"""),
        ("part", f"""
SELECT setseed(0.3);
INSERT INTO part
SELECT g, 'part ' || g, 'Brand#' || (1 + floor(random() * 5)::int) || (1 + floor(random() * 5)::int),
       ({_array(TYPES)})[1 + floor(random() * {len(TYPES)})::int], 1 + floor(random() * 50)::int,
       ({_array(CONTAINERS)})[1 + floor(random() * {len(CONTAINERS)})::int], 900 + (g % 1000) / 10.0
  FROM generate_series(1, {d['part']}) g"""),
        ("partsupp", f"""
SELECT setseed(0.4);
INSERT INTO partsupp
SELECT p, 1 + (p + k * ({d['supplier']} / 4 + 1)) % {d['supplier']}, 1 + floor(random() * 9999)::int,
       round((1 + random() * 999)::numeric, 2)
  FROM generate_series(1, {d['part']}) p, generate_series(0, 3) k"""),
        ("orders", f"""
SELECT setseed(0.5);
INSERT INTO orders
SELECT g, 1 + floor(random() * {d['customer']})::int, (ARRAY['F', 'O', 'P'])[1 + floor(random() * 3)::int],
       round((1000 + random() * 400000)::numeric, 2), date '{START.isoformat()}' + floor(random() * {DAYS})::int,
       ({_array(PRIORITIES)})[1 + floor(random() * 5)::int], 0,
       CASE WHEN random() < 0.01 THEN 'special requests' ELSE 'regular comment' END
  FROM generate_series(1, {d['orders']}) g"""),
        ("lineitem", f"""
SELECT setseed(0.6);
INSERT INTO lineitem
SELECT o.o_orderkey, l, 1 + floor(random() * {d['part']})::int, 1 + floor(random() * {d['supplier']})::int,
       q, q * (900 + floor(random() * 100)), round((random() * 0.1)::numeric, 2), round((random() * 0.08)::numeric, 2),
       CASE WHEN ship < date '1995-06-17' THEN (ARRAY['R', 'A'])[1 + floor(random() * 2)::int] ELSE 'N' END,
       CASE WHEN ship < date '1995-06-17' THEN 'F' ELSE 'O' END,
       ship, o.o_orderdate + 30 + floor(random() * 60)::int, ship + 1 + floor(random() * 30)::int,
       ({_array(SHIPMODES)})[1 + floor(random() * 7)::int]
  FROM orders o, generate_series(1, 1 + o.o_orderkey % 7) l,
       LATERAL (SELECT 1 + floor(random() * 50)::numeric AS q, o.o_orderdate + 1 + floor(random() * 121)::int AS ship) x;
ALTER TABLE region ADD PRIMARY KEY (r_regionkey);
ALTER TABLE nation ADD PRIMARY KEY (n_nationkey);
ALTER TABLE supplier ADD PRIMARY KEY (s_suppkey);
ALTER TABLE customer ADD PRIMARY KEY (c_custkey);
ALTER TABLE part ADD PRIMARY KEY (p_partkey);
ALTER TABLE partsupp ADD PRIMARY KEY (ps_partkey, ps_suppkey);
ALTER TABLE orders ADD PRIMARY KEY (o_orderkey);
ALTER TABLE lineitem ADD PRIMARY KEY (l_orderkey, l_linenumber)"""),
    ]


def _date(rng, span_days=0):
    return (START + datetime.timedelta(days=rng.randrange(0, DAYS - span_days))).isoformat()


def _q1(rng, d):
    return ("SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice), avg(l_discount), count(*) "
            f"FROM lineitem WHERE l_shipdate <= date '{_date(rng)}' GROUP BY 1, 2 ORDER BY 1, 2")


def _q2(rng, d):
    return ("SELECT s_acctbal, s_name, n_name, p_partkey FROM part, supplier, partsupp, nation, region "
            f"WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = {rng.randint(1, 50)} "
            f"AND p_type = '{rng.choice(TYPES)}' AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey "
            f"AND r_name = '{rng.choice(REGIONS)}' ORDER BY s_acctbal DESC, n_name, s_name LIMIT 100")


def _q3(rng, d):
    day = _date(rng, 30)
    return ("SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority "
            f"FROM customer, orders, lineitem WHERE c_mktsegment = '{rng.choice(SEGMENTS)}' AND c_custkey = o_custkey "
            f"AND l_orderkey = o_orderkey AND o_orderdate < date '{day}' AND l_shipdate > date '{day}' "
            "GROUP BY l_orderkey, o_orderdate, o_shippriority ORDER BY revenue DESC, o_orderdate LIMIT 10")


def _q4(rng, d):
    day = _date(rng, 92)
    return ("SELECT o_orderpriority, count(*) FROM orders "
            f"WHERE o_orderdate >= date '{day}' AND o_orderdate < date '{day}' + 92 "
            "AND EXISTS (SELECT 1 FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate) "
            "GROUP BY o_orderpriority ORDER BY o_orderpriority")


def _q5(rng, d):
    day = _date(rng, 365)
    return ("SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue "
            "FROM customer, orders, lineitem, supplier, nation, region "
            "WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey "
            "AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey "
            f"AND r_name = '{rng.choice(REGIONS)}' AND o_orderdate >= date '{day}' AND o_orderdate < date '{day}' + 365 "
            "GROUP BY n_name ORDER BY revenue DESC")


def _q6(rng, d):
    day = _date(rng, 365)
    discount = rng.randint(2, 9) / 100
    return ("SELECT sum(l_extendedprice * l_discount) FROM lineitem "
            f"WHERE l_shipdate >= date '{day}' AND l_shipdate < date '{day}' + 365 "
            f"AND l_discount BETWEEN {discount - 0.01:.2f} AND {discount + 0.01:.2f} AND l_quantity < {rng.randint(24, 25)}")


def _q10(rng, d):
    day = _date(rng, 92)
    return ("SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name "
            "FROM customer, orders, lineitem, nation WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey "
            f"AND o_orderdate >= date '{day}' AND o_orderdate < date '{day}' + 92 AND l_returnflag = 'R' "
            "AND c_nationkey = n_nationkey GROUP BY c_custkey, c_name, c_acctbal, n_name ORDER BY revenue DESC LIMIT 20")


def _q11(rng, d):
    return ("SELECT ps_partkey, sum(ps_supplycost * ps_availqty) AS value FROM partsupp, supplier, nation "
            f"WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = '{rng.choice(NATIONS)}' "
            "GROUP BY ps_partkey ORDER BY value DESC LIMIT 50")


def _q12(rng, d):
    day = _date(rng, 365)
    modes = rng.sample(SHIPMODES, 2)
    return ("SELECT l_shipmode, count(*) FROM orders, lineitem WHERE o_orderkey = l_orderkey "
            f"AND l_shipmode IN ('{modes[0]}', '{modes[1]}') AND l_commitdate < l_receiptdate "
            f"AND l_shipdate < l_commitdate AND l_receiptdate >= date '{day}' AND l_receiptdate < date '{day}' + 365 "
            "GROUP BY l_shipmode ORDER BY l_shipmode")


def _q13(rng, d):
    return ("SELECT c_custkey, count(o_orderkey) FROM customer LEFT JOIN orders ON c_custkey = o_custkey "
            f"AND o_comment NOT LIKE '%special%requests%' WHERE c_nationkey = {rng.randint(0, 24)} GROUP BY c_custkey")


def _q14(rng, d):
    day = _date(rng, 31)
    return ("SELECT sum(CASE WHEN p_type LIKE 'PROMO%' THEN l_extendedprice * (1 - l_discount) ELSE 0 END) "
            "/ sum(l_extendedprice * (1 - l_discount)) FROM lineitem, part WHERE l_partkey = p_partkey "
            f"AND l_shipdate >= date '{day}' AND l_shipdate < date '{day}' + 31")


def _q16(rng, d):
    sizes = rng.sample(range(1, 51), 4)
    return ("SELECT p_brand, p_type, p_size, count(DISTINCT ps_suppkey) FROM partsupp, part "
            f"WHERE p_partkey = ps_partkey AND p_brand = 'Brand#{rng.randint(1, 5)}{rng.randint(1, 5)}' "
            f"AND p_size IN ({', '.join(map(str, sizes))}) GROUP BY p_brand, p_type, p_size")


def _q18(rng, d):
    return ("SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity) "
            "FROM customer, orders, lineitem WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem "
            f"WHERE l_orderkey BETWEEN {(k := rng.randint(1, max(1, d['orders'] - 2000)))} AND {k + 2000} "
            f"GROUP BY l_orderkey HAVING sum(l_quantity) > {rng.randint(150, 250)}) "
            "AND c_custkey = o_custkey AND o_orderkey = l_orderkey "
            "GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice ORDER BY o_totalprice DESC LIMIT 100")


def _q19(rng, d):
    return ("SELECT sum(l_extendedprice * (1 - l_discount)) FROM lineitem, part WHERE p_partkey = l_partkey "
            f"AND p_brand = 'Brand#{rng.randint(1, 5)}{rng.randint(1, 5)}' AND p_container = '{rng.choice(CONTAINERS)}' "
            f"AND l_quantity BETWEEN {(q := rng.randint(1, 10))} AND {q + 10} AND l_shipmode = 'AIR'")


def _q21(rng, d):
    return ("SELECT s_name, count(*) AS numwait FROM supplier, lineitem l1, orders, nation "
            "WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F' "
            "AND l1.l_receiptdate > l1.l_commitdate AND s_nationkey = n_nationkey "
            f"AND n_name = '{rng.choice(NATIONS)}' GROUP BY s_name ORDER BY numwait DESC, s_name LIMIT 100")


def _orders_of_customer(rng, d):
    return (f"SELECT o_orderkey, o_orderdate, o_totalprice FROM orders WHERE o_custkey = {rng.randint(1, d['customer'])} "
            "ORDER BY o_orderdate DESC LIMIT 10")


def _lines_of_part(rng, d):
    return (f"SELECT l_orderkey, l_quantity FROM lineitem WHERE l_partkey = {rng.randint(1, d['part'])} "
            f"AND l_shipdate >= date '{_date(rng, 365)}'")


def _suppliers_of_nation(rng, d):
    return f"SELECT s_suppkey, s_name FROM supplier WHERE s_nationkey = {rng.randint(0, 24)} ORDER BY s_acctbal DESC"


def _customers_by_phone(rng, d):
    return f"SELECT c_custkey, c_name FROM customer WHERE c_phone LIKE '{10 + rng.randint(0, 24)}-{rng.randint(100, 999)}%'"


def _w_new_order(rng, d):
    return (f"UPDATE orders SET o_orderstatus = 'O', o_totalprice = o_totalprice + 1 "
            f"WHERE o_orderkey = {rng.randint(1, d['orders'])}")


def _w_ship_line(rng, d):
    return (f"UPDATE lineitem SET l_shipdate = l_shipdate + 1 WHERE l_orderkey = {rng.randint(1, d['orders'])} "
            "AND l_linenumber = 1")


SHAPES = [
    Shape("q1_pricing_summary", 2, _q1),
    Shape("q2_minimum_cost_supplier", 4, _q2),
    Shape("q3_shipping_priority", 6, _q3),
    Shape("q4_order_priority", 3, _q4),
    Shape("q5_local_supplier_volume", 3, _q5),
    Shape("q6_forecast_revenue", 4, _q6),
    Shape("q10_returned_items", 4, _q10),
    Shape("q11_important_stock", 3, _q11),
    Shape("q12_shipping_modes", 3, _q12),
    Shape("q13_customer_distribution", 3, _q13),
    Shape("q14_promotion_effect", 4, _q14),
    Shape("q16_parts_supplier", 3, _q16),
    Shape("q18_large_volume_customer", 2, _q18),
    Shape("q19_discounted_revenue", 4, _q19),
    Shape("q21_suppliers_kept_waiting", 2, _q21),
    Shape("orders_of_customer", 30, _orders_of_customer),
    Shape("lines_of_part", 20, _lines_of_part),
    Shape("suppliers_of_nation", 10, _suppliers_of_nation),
    Shape("customers_by_phone", 10, _customers_by_phone),
    Shape("new_order", 10, _w_new_order, writes=True),
    Shape("ship_line", 10, _w_ship_line, writes=True),
]

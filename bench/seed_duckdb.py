"""The seed workload (shared/workloads/seed.md) in DuckDB, for bench/partitions.sh.

Each step is a new table made from the previous one; every `every` steps the table is written
to Parquet and read back (DuckDB's CHECKPOINT pattern); tables no later step needs are dropped.
`memory_limit` is the quota (DuckDB spills to its temp directory beyond it).

    python3 bench/seed_duckdb.py ROWS DIR [MEMORY_LIMIT] [EVERY] [THREADS]

Prints one JSON line with the checksum (sum over keys of the per-key sums of `value` over
steps 5, 10, 15 and 20) and the wall time.
"""
import json
import os
import sys
import time

import duckdb

rows = int(sys.argv[1])
work = sys.argv[2]
limit = sys.argv[3] if len(sys.argv) > 3 else "384MB"
every = int(sys.argv[4]) if len(sys.argv) > 4 else 10
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
os.makedirs(work, exist_ok=True)
started = time.time()
con = duckdb.connect()
con.execute(f"SET memory_limit = '{limit}'")
con.execute(f"SET threads = {threads}")
con.execute(f"SET temp_directory = '{work}/tmp'")
con.execute("SET preserve_insertion_order = true")
con.execute(
    f"CREATE TABLE s0 AS SELECT i::UBIGINT AS id, (i % 1000)::UINTEGER AS key, "
    f"i::DOUBLE * 0.5 AS value, 't' || (i % 97)::VARCHAR AS tag FROM range({rows}) t(i)"
)
kept = {5, 10, 15, 20}
for i in range(1, 21):
    con.execute(
        f"CREATE TABLE s{i} AS SELECT id, key, value * 1.0001::DOUBLE + {i}::DOUBLE AS value, tag FROM s{i - 1}"
    )
    if every and i % every == 0:
        path = f"{work}/s{i}.parquet"
        con.execute(f"COPY s{i} TO '{path}' (FORMAT parquet)")
        con.execute(f"DROP TABLE s{i}")
        con.execute(f"CREATE TABLE s{i} AS SELECT * FROM read_parquet('{path}')")
    if i - 1 not in kept:
        con.execute(f"DROP TABLE s{i - 1}")
sums = con.execute(
    "SELECT key, sum(value) FROM (SELECT key, value FROM s5 UNION ALL SELECT key, value FROM s10 "
    "UNION ALL SELECT key, value FROM s15 UNION ALL SELECT key, value FROM s20) "
    "GROUP BY key ORDER BY key"
).fetchall()
checksum = sum(s for _, s in sums)
print(json.dumps({"engine": "duckdb", "rows": rows, "checksum": checksum,
                  "seconds": time.time() - started, "memory_limit": limit}))

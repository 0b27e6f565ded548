"""The join + group-by of bench/files.sh in DuckDB: facts (key, value) joined to dims (key,
category) from Parquet, then sum(value) and count(*) per category.

    python3 bench/files_duckdb.py DATA_DIR [MEMORY_LIMIT] [THREADS]

Prints one JSON line: categories, rows, checksum (sum over categories, sorted, of
(i + 1) * sum(value)) and the wall time.
"""
import json
import sys
import tempfile
import time

import duckdb

data = sys.argv[1]
limit = sys.argv[2] if len(sys.argv) > 2 else "384MB"
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
started = time.time()
con = duckdb.connect()
con.execute(f"SET memory_limit = '{limit}'")
con.execute(f"SET threads = {threads}")
con.execute(f"SET temp_directory = '{tempfile.mkdtemp()}'")
rows = con.execute(
    f"""SELECT d.category, sum(f.value), count(*)
        FROM read_parquet('{data}/facts/*.parquet') f
        JOIN read_parquet('{data}/dims/*.parquet') d USING (key)
        GROUP BY d.category ORDER BY d.category"""
).fetchall()
checksum = sum((i + 1) * s for i, (_, s, _) in enumerate(rows))
print(json.dumps({"categories": len(rows), "rows": sum(n for _, _, n in rows),
                  "checksum": checksum, "seconds": time.time() - started}))

"""The join + group-by of bench/files.sh in Polars' streaming engine (threads from
POLARS_MAX_THREADS).

    POLARS_MAX_THREADS=2 python3 bench/files_polars.py DATA_DIR

Prints one JSON line like bench/files_duckdb.py.
"""
import json
import sys
import time

import polars as pl

data = sys.argv[1]
started = time.time()
facts = pl.scan_parquet(f"{data}/facts/*.parquet")
dims = pl.scan_parquet(f"{data}/dims/*.parquet")
out = (
    facts.join(dims, on="key")
    .group_by("category")
    .agg(pl.col("value").sum().alias("sum"), pl.len().alias("n"))
    .sort("category")
    .collect(engine="streaming")
)
sums, counts = out["sum"].to_list(), out["n"].to_list()
checksum = sum((i + 1) * s for i, s in enumerate(sums))
print(json.dumps({"categories": len(sums), "rows": sum(counts), "checksum": checksum,
                  "seconds": time.time() - started}))

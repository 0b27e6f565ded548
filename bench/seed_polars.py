"""The seed workload (shared/workloads/seed.md) in Polars, the competitor of seed_arrow.

Eager frames; each step a new frame from the previous one with `with_columns` (Polars shares the
unchanged columns); a checkpoint every N steps = write the frame to Parquet and read it back
(the frame then comes from the file); the aggregate sums `value` per key over steps 5, 10, 15
and 20. Prints one JSON line with the checksum and seconds.

    python3 bench/seed_polars.py --rows 2000000 --every 10 --dir /tmp/polars-ckpt
"""

import argparse
import json
import os
import time

import polars as pl


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--dir", default="/tmp/seed-polars")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    started = time.perf_counter()
    ids = pl.int_range(0, args.rows, dtype=pl.UInt64, eager=True)
    df = pl.DataFrame({"id": ids}).with_columns(
        key=(pl.col("id") % 1000).cast(pl.UInt32),
        value=pl.col("id").cast(pl.Float64) * 0.5,
        tag=pl.lit("t") + (pl.col("id") % 97).cast(pl.Utf8),
    )
    kept = []
    for i in range(1, 21):
        df = df.with_columns(value=pl.col("value") * 1.0001 + float(i))
        if args.every and i % args.every == 0:
            path = os.path.join(args.dir, f"step{i}.parquet")
            df.write_parquet(path)
            df = pl.read_parquet(path)
        if i % 5 == 0:
            kept.append(df)
    sums = (
        pl.concat([k.select("key", "value") for k in kept])
        .group_by("key")
        .agg(pl.col("value").sum())
        .sort("key")
    )
    checksum = float(sums["value"].sum())
    print(json.dumps({"checksum": checksum, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()

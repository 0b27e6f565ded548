"""The seed workload (shared/workloads/seed.md) as Spark DataFrames, for bench/spark.sh: the
same rows, 20 steps, a checkpoint every 10 (Parquet written and read back, as Stepstone's
checkpoint is a durable write), the aggregate over steps 5, 10, 15 and 20. Prints one JSON line
with the checksum.

    spark-submit --master URL bench/seed_spark.py ROWS PARTITIONS CHECKPOINT_DIR
"""
import json
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(rows, partitions, checkpoint_dir):
    spark = SparkSession.builder.appName("seed (Spark DataFrames)").getOrCreate()
    started = time.monotonic()
    df = spark.range(0, rows, numPartitions=partitions).select(
        F.col("id"),
        (F.col("id") % 1000).cast("int").alias("key"),
        (F.col("id") * 0.5).alias("value"),
        F.concat(F.lit("t"), (F.col("id") % 97).cast("string")).alias("tag"),
    )
    kept = []
    for i in range(1, 21):
        df = df.withColumn("value", F.col("value") * 1.0001 + float(i))
        if i % 10 == 0:
            path = f"{checkpoint_dir}/step{i}"
            df.write.mode("overwrite").parquet(path)
            df = spark.read.parquet(path)
        if i % 5 == 0:
            kept.append(df.select("key", "value"))
    union = kept[0]
    for other in kept[1:]:
        union = union.unionByName(other)
    sums = union.groupBy("key").agg(F.sum("value").alias("total")).orderBy("key").collect()
    checksum = sum(r["total"] for r in sums)
    print(json.dumps({"checksum": checksum, "seconds": time.monotonic() - started}))
    spark.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])

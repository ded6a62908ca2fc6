"""rides_result -> Parquet files partitioned YYYY/MM/DD/HH by event time (see README.md)."""

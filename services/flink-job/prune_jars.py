"""Remove the Flink core jars that shigawire-apache-flink-libraries duplicates next to flink-dist.

That package drops the connectors *and* their whole Maven dependency tree into pyflink/lib, so
flink-core, flink-runtime, jackson, guava ... would sit on the classpath twice (once inside
flink-dist-2.0.0.jar). Only the connector jars and the libraries flink-dist lacks are kept.
Run it with the interpreter of the environment that holds PyFlink; it is idempotent.
"""

import sys
from importlib import metadata
from pathlib import Path

KEEP = frozenset(
    {
        "flink-connector-kafka.jar",
        "kafka-clients.jar",
        # kafka-clients needs it to read zstd-compressed batches; lz4 and snappy ship in flink-dist.
        "zstd-jni.jar",
        "flink-connector-jdbc-core.jar",
        "flink-connector-jdbc-postgres.jar",
        "postgresql.jar",
    }
)
DIST = "shigawire-apache-flink-libraries"


def prune() -> list[Path]:
    files = metadata.distribution(DIST).files or []
    jars = {Path(f.locate()) for f in files if f.name.endswith(".jar")}
    missing = sorted(name for name in KEEP if not any(j.name == name and j.exists() for j in jars))
    if missing:
        raise SystemExit(f"{DIST} is missing connector jars: {', '.join(missing)}")
    removed = []
    for jar in sorted(jars):
        if jar.name not in KEEP and jar.exists():
            jar.unlink()
            removed.append(jar)
    return removed


if __name__ == "__main__":
    removed = prune()
    print(f"pruned {len(removed)} duplicated jars, kept {len(KEEP)} connector jars", file=sys.stderr)

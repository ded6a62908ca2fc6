"""The segmenter's loop: lead (one instance at a time), run rounds, maintain partitions, apply retention.

All trajectory work is SQL (sql/020_trajectories.sql: ``segmenter_round()``); this module decides when to
call it, keeps the database connection alive (reconnecting with back-off), and reports what it sees.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import psycopg2
import psycopg2.errors
from prometheus_client import Counter, Gauge, Histogram
from psycopg2 import sql

from geostream.health import Check
from geostream.lifecycle import Shutdown, backoff
from segmenter import plan
from segmenter.settings import Settings

log = logging.getLogger("segmenter")

# One leader among every segmenter of a database (session-level: released when its connection goes).
LEADER_LOCK = "SELECT pg_try_advisory_lock(hashtext('geostream'), hashtext('segmenter-leader'))"

QUEUE_DEPTH = Gauge("segmenter_queue_depth", "Changed (vehicle, bucket) rows waiting in trajectory_dirty")
QUEUE_AGE = Gauge("segmenter_queue_oldest_age_seconds", "Age of the oldest waiting row (0 when empty)")
LEADER = Gauge("segmenter_leader", "1 while this instance holds the leader lock")
DB_UP = Gauge("segmenter_database_up", "1 while the database answers")
ROUNDS = Counter("segmenter_rounds", "Rounds run")
ROUND_FAILURES = Counter("segmenter_round_failures", "Rounds that failed (their rows stay queued)")
ROWS = Counter("segmenter_rows_claimed", "Queue rows processed")
SEGMENTS = Counter("segmenter_segments_stored", "Segments (re)built and stored")
ROUND_SECONDS = Histogram(
    "segmenter_round_seconds",
    "Duration of one round",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PARTITIONS_CREATED = Counter("segmenter_partitions_created", "Day partitions created")
PARTITIONS_DROPPED = Counter("segmenter_partitions_dropped", "Day partitions dropped by retention")


@dataclass
class Status:
    """What /health reports; written by the loop, read by the health thread."""

    db_up: bool = False
    leader: bool = False
    queue_depth: int | None = None
    oldest_age_s: float | None = None
    last_success: float | None = None  # time.monotonic()
    last_round_at: str | None = None  # ISO 8601, for people
    last_error: str | None = None


class Segmenter:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.status = Status()
        self._last_maintenance: float | None = None

    # -- connection ------------------------------------------------------------------------------------

    def connect(self):
        conn = psycopg2.connect(
            self.settings.database_url,
            connect_timeout=5,
            application_name="segmenter",
            options=f"-c statement_timeout={self.settings.statement_timeout_ms} -c jit=off",
        )
        conn.autocommit = True
        return conn

    def run(self, shutdown: Shutdown) -> None:
        """Until SIGTERM: connect, lead or stand by, and on a lost database reconnect with back-off."""
        delays = backoff(maximum=30.0)
        while not shutdown.requested:
            conn = None
            try:
                conn = self.connect()
                self._set_db(True)
                delays = backoff(maximum=30.0)
                self._serve(conn, shutdown)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                self._set_db(False)
                self._set_leader(False)
                delay = next(delays)
                log.warning(
                    "database unavailable",
                    extra={"error": str(exc).strip()[:300], "retry_in_s": round(delay, 2)},
                )
                shutdown.wait(delay)
            finally:
                if conn is not None:
                    conn.close()  # also releases the leader lock
        self._set_leader(False)

    def _serve(self, conn, shutdown: Shutdown) -> None:
        s = self.settings
        while not shutdown.requested:
            if not self.status.leader and self._try_lead(conn):
                log.info("leading: this instance runs the rounds")
            backlogged = False
            if self.status.leader:
                if plan.due(self._last_maintenance, time.monotonic(), s.maintenance_interval_s):
                    self._last_maintenance = time.monotonic()
                    self.maintain_safely(conn)
                backlogged = self.round(conn)
            self.observe_queue(conn)
            if not backlogged:
                shutdown.wait(s.segmenter_interval_s)

    def _try_lead(self, conn) -> bool:
        with conn.cursor() as cur:
            cur.execute(LEADER_LOCK)
            self._set_leader(bool(cur.fetchone()[0]))
        return self.status.leader

    # -- work ------------------------------------------------------------------------------------------

    def round(self, conn) -> bool:
        """One round; True when it was full (more is queued). A failing round leaves its rows queued."""
        started = time.monotonic()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM segmenter_round(%s)", (self.settings.segmenter_batch_rows,))
                result = plan.RoundResult(*cur.fetchone())
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            raise
        except psycopg2.Error as exc:
            ROUND_FAILURES.inc()
            self.status.last_error = f"{exc.pgcode}: {str(exc).strip()[:300]}"
            log.error("round failed; its rows stay queued", extra={"error": self.status.last_error})
            return False
        ROUND_SECONDS.observe(time.monotonic() - started)
        ROUNDS.inc()
        ROWS.inc(result.claimed)
        SEGMENTS.inc(result.stored)
        self.status.last_success = time.monotonic()
        self.status.last_round_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.status.last_error = None
        if result.claimed:
            log.debug("round", extra=vars(result))
        return result.backlogged(self.settings.segmenter_batch_rows)

    def observe_queue(self, conn) -> None:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT queued, extract(epoch FROM now() - oldest)::float8 FROM trajectory_queue_status()"
            )
            depth, age = cur.fetchone()
        self.status.queue_depth, self.status.oldest_age_s = depth, max(age or 0.0, 0.0)
        QUEUE_DEPTH.set(depth)
        QUEUE_AGE.set(self.status.oldest_age_s)

    def maintain_safely(self, conn) -> None:
        """maintain(), retried at the next maintenance when it fails (a lost connection is raised)."""
        try:
            self.maintain(conn)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            raise
        except psycopg2.Error as exc:
            log.error("maintenance failed", extra={"error": f"{exc.pgcode}: {str(exc).strip()[:300]}"})

    def maintain(self, conn, today: date | None = None) -> None:
        """Partitions ahead, old backfills moved out of the default partitions, retention."""
        s = self.settings
        today = today or datetime.now(UTC).date()
        first, last = plan.partition_window(today, s.partitions_ahead_days)
        cutoff = plan.retention_cutoff(today, s.retention_days)
        created = self._scalar(conn, "SELECT ensure_partitions(%s, %s)", (first, last))
        days = [row[0] for row in self._rows(conn, "SELECT default_partition_days(7)")]
        for day in plan.sweepable_days(days, cutoff):
            created += self._scalar(conn, "SELECT ensure_partitions(%s, %s)", (day, day))
        if created:
            PARTITIONS_CREATED.inc(created)
            log.info("partitions created", extra={"partitions": created, "through": str(last)})
        if cutoff is not None:
            self.apply_retention(conn, cutoff)

    def apply_retention(self, conn, cutoff: date) -> int:
        """Drops expired day partitions one per transaction, each waiting at most DROP_LOCK_TIMEOUT_MS for
        its lock (writers queue behind a waiting DROP); a partition that cannot be locked is retried later."""
        dropped = 0
        for table, partition in self._rows(
            conn, "SELECT table_name, partition_name FROM expired_partitions(%s)", (cutoff,)
        ):
            conn.autocommit = False
            try:
                with conn, conn.cursor() as cur:  # one transaction
                    cur.execute("SET LOCAL lock_timeout = %s", (f"{self.settings.drop_lock_timeout_ms}ms",))
                    cur.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(partition)))
                dropped += 1
                log.info("partition dropped", extra={"table": table, "partition": partition})
            except psycopg2.errors.LockNotAvailable:
                log.warning("partition busy; dropped at a later maintenance", extra={"partition": partition})
            finally:
                conn.autocommit = True
        trimmed = self._scalar(conn, "SELECT trim_before(%s)", (cutoff,))
        PARTITIONS_DROPPED.inc(dropped)
        if dropped or trimmed:
            log.info(
                "retention applied", extra={"cutoff": str(cutoff), "dropped": dropped, "trimmed": trimmed}
            )
        return dropped

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def _rows(conn, query: str, params: tuple = ()) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def _scalar(self, conn, query: str, params: tuple = ()):
        return self._rows(conn, query, params)[0][0]

    def _set_leader(self, leader: bool) -> None:
        self.status.leader = leader
        LEADER.set(1 if leader else 0)

    def _set_db(self, up: bool) -> None:
        self.status.db_up = up
        DB_UP.set(1 if up else 0)

    # -- health ----------------------------------------------------------------------------------------

    def health_checks(self) -> dict[str, Check]:
        s, st = self.settings, self.status
        return {
            "database": lambda: st.db_up,
            "rounds": lambda: plan.rounds_healthy(
                st.leader, st.last_success, time.monotonic(), s.segmenter_interval_s
            ),
            "queue": lambda: st.oldest_age_s is None or st.oldest_age_s <= s.health_max_queue_age_s,
        }

    def health_details(self) -> dict[str, object]:
        st = self.status
        return {
            "leader": st.leader,
            "queue_depth": st.queue_depth,
            "oldest_dirty_age_s": st.oldest_age_s,
            "last_round": st.last_round_at,
            "last_error": st.last_error,
        }

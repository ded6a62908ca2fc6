package io.geostream.flink.sink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.types.RowKind;
import org.junit.jupiter.api.Test;

class PointsSinkWriterTest {
    private static final List<LogicalType> TYPES =
            List.of(new VarCharType(VarCharType.MAX_LENGTH), new TimestampType(3), new DoubleType());
    private static final ArrayUpsert STATEMENTS = new ArrayUpsert(
            "vehicle_points",
            List.of("vehicle_id", "ts", "lon"),
            List.of(ColumnKind.TEXT, ColumnKind.TIMESTAMP, ColumnKind.DOUBLE),
            new int[] {0, 1});

    /** Processing time moved by the test; due timers fire in time order, on the caller's thread. */
    static final class ManualTime implements ProcessingTimeService {
        private record Timer(long at, ProcessingTimeCallback callback) {}

        private final List<Timer> timers = new ArrayList<>();
        long now;

        @Override
        public long getCurrentProcessingTime() {
            return now;
        }

        @Override
        public ScheduledFuture<?> registerTimer(long at, ProcessingTimeCallback callback) {
            timers.add(new Timer(at, callback));
            return null;
        }

        void advanceTo(long t) throws Exception {
            now = t;
            while (true) {
                Timer due = timers.stream()
                        .filter(x -> x.at <= t)
                        .min(Comparator.comparingLong(Timer::at))
                        .orElse(null);
                if (due == null) {
                    return;
                }
                timers.remove(due);
                due.callback.onProcessingTime(t);
            }
        }

        int pending() {
            return timers.size();
        }
    }

    /** Records the batches; fails the next {@code failures} writes. */
    static class RecordingWriter implements BatchWriter {
        final List<UpsertBuffer.Batch> batches = Collections.synchronizedList(new ArrayList<>());
        volatile int failures;
        volatile int recovered;
        volatile boolean closed;

        @Override
        public void write(UpsertBuffer.Batch batch) throws SQLException {
            if (failures > 0) {
                failures--;
                throw new SQLException("connection refused", "08001");
            }
            batches.add(batch);
        }

        @Override
        public void recover() {
            recovered++;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    /** Holds every write until the test releases it (one permit per batch). */
    static final class HeldWriter extends RecordingWriter {
        final Semaphore release = new Semaphore(0);
        final Semaphore started = new Semaphore(0);

        @Override
        public void write(UpsertBuffer.Batch batch) throws SQLException {
            started.release();
            release.acquireUninterruptibly();
            super.write(batch);
        }
    }

    private final ManualTime time = new ManualTime();
    private RecordingWriter out = new RecordingWriter();

    private PointsSinkWriter writer(int maxRows, long intervalMs, int maxRetries) {
        return new PointsSinkWriter(
                new SinkSettings("jdbc:postgresql://unused/db", "u", "p", maxRows, intervalMs, maxRetries, 0, true),
                STATEMENTS,
                TYPES,
                out,
                time,
                UnregisteredMetricsGroup.createSinkWriterMetricGroup());
    }

    private static RowData row(RowKind kind, String id, long tsMs, Double lon) {
        GenericRowData row = new GenericRowData(kind, 3);
        row.setField(0, StringData.fromString(id));
        row.setField(1, TimestampData.fromEpochMillis(tsMs));
        row.setField(2, lon);
        return row;
    }

    private static RowData point(String id, long tsMs, Double lon) {
        return row(RowKind.INSERT, id, tsMs, lon);
    }

    @Test
    void aBatchKeepsTheLastRowOfEachKey() throws Exception {
        PointsSinkWriter w = writer(100, 0, 0);
        w.write(point("v1", 1000, 1.0), null);
        w.write(point("v2", 1000, 2.0), null);
        w.write(point("v1", 1000, 3.0), null);
        w.write(point("v1", 2000, 4.0), null);
        w.flush(false);
        assertEquals(1, out.batches.size());
        List<Object[]> rows = out.batches.get(0).upserts();
        assertEquals(3, rows.size());
        assertArrayEquals(new Object[] {"v1", "1970-01-01T00:00:01Z", 3.0}, rows.get(0));
        assertArrayEquals(new Object[] {"v2", "1970-01-01T00:00:01Z", 2.0}, rows.get(1));
        assertArrayEquals(new Object[] {"v1", "1970-01-01T00:00:02Z", 4.0}, rows.get(2));
    }

    @Test
    void aDeleteAfterAnUpsertOfTheSameKeyWinsAndViceVersa() throws Exception {
        PointsSinkWriter w = writer(100, 0, 0);
        w.write(point("v1", 1000, 1.0), null);
        w.write(row(RowKind.DELETE, "v1", 1000, 1.0), null);
        w.write(row(RowKind.DELETE, "v2", 1000, null), null);
        w.write(row(RowKind.UPDATE_BEFORE, "v2", 1000, 9.0), null);
        w.write(row(RowKind.UPDATE_AFTER, "v2", 1000, 5.0), null);
        w.flush(false);
        UpsertBuffer.Batch batch = out.batches.get(0);
        assertEquals(1, batch.deletes().size());
        assertEquals("v1", batch.deletes().get(0)[0]);
        assertEquals(1, batch.upserts().size());
        assertArrayEquals(new Object[] {"v2", "1970-01-01T00:00:01Z", 5.0}, batch.upserts().get(0));
    }

    @Test
    void reusedRowsAreCopied() throws Exception {
        PointsSinkWriter w = writer(100, 0, 0);
        GenericRowData reused = new GenericRowData(3);
        reused.setField(0, StringData.fromString("v1"));
        reused.setField(1, TimestampData.fromEpochMillis(1));
        reused.setField(2, 1.0);
        w.write(reused, null);
        reused.setField(0, StringData.fromString("v2"));
        reused.setField(2, 2.0);
        w.write(reused, null);
        w.flush(false);
        assertEquals(2, out.batches.get(0).upserts().size());
        assertEquals("v1", out.batches.get(0).upserts().get(0)[0]);
        assertEquals(1.0, out.batches.get(0).upserts().get(0)[2]);
    }

    @Test
    void nullValuesStayNullAndTimestampsAreUtcText() throws Exception {
        PointsSinkWriter w = writer(100, 0, 0);
        w.write(point("v1", 1_714_564_800_123L, null), null);
        w.flush(true);
        assertArrayEquals(
                new Object[] {"v1", "2024-05-01T12:00:00.123Z", null}, out.batches.get(0).upserts().get(0));
    }

    @Test
    void maxRowsDistinctKeysFlushAtOnce() throws Exception {
        PointsSinkWriter w = writer(3, 0, 0);
        w.write(point("v1", 1, 1.0), null);
        w.write(point("v1", 1, 2.0), null); // same key: still one row
        w.write(point("v2", 1, 1.0), null);
        assertEquals(0, out.batches.size());
        w.write(point("v3", 1, 1.0), null);
        w.awaitInFlight();
        assertEquals(1, out.batches.size());
        assertEquals(3, out.batches.get(0).size());
        w.write(point("v4", 1, 1.0), null);
        w.awaitInFlight();
        assertEquals(1, out.batches.size());
    }

    @Test
    void theIntervalFlushesABatchOnceItsFirstRowIsThatOld() throws Exception {
        PointsSinkWriter w = writer(1000, 200, 0);
        time.now = 1000;
        w.write(point("v1", 1, 1.0), null);
        time.advanceTo(1100);
        w.write(point("v2", 1, 1.0), null);
        time.advanceTo(1199);
        w.awaitInFlight();
        assertEquals(0, out.batches.size());
        time.advanceTo(1200);
        w.awaitInFlight();
        assertEquals(1, out.batches.size());
        assertEquals(2, out.batches.get(0).size());
        assertEquals(0, time.pending());
        time.advanceTo(5000); // nothing buffered: nothing written, no timer
        assertEquals(1, out.batches.size());
    }

    @Test
    void aTimerOfAnAlreadyWrittenBatchWaitsForTheNextBatchsAge() throws Exception {
        PointsSinkWriter w = writer(2, 200, 0);
        time.now = 0;
        w.write(point("v1", 1, 1.0), null); // timer at 200
        w.write(point("v2", 1, 1.0), null); // max rows: written now
        w.awaitInFlight();
        assertEquals(1, out.batches.size());
        time.advanceTo(150);
        w.write(point("v3", 1, 1.0), null); // new batch, due at 350
        time.advanceTo(200);
        w.awaitInFlight();
        assertEquals(1, out.batches.size());
        time.advanceTo(349);
        w.awaitInFlight();
        assertEquals(1, out.batches.size());
        time.advanceTo(350);
        w.awaitInFlight();
        assertEquals(2, out.batches.size());
    }

    @Test
    void checkpointFlushWritesEverythingAndAnEmptyFlushWritesNothing() throws Exception {
        PointsSinkWriter w = writer(1000, 0, 0);
        w.flush(false);
        assertEquals(0, out.batches.size());
        w.write(point("v1", 1, 1.0), null);
        w.flush(false);
        w.flush(true);
        assertEquals(1, out.batches.size());
        assertEquals(0, time.pending());
    }

    @Test
    void aFailedWriteIsRetriedWithTheSameRows() throws Exception {
        PointsSinkWriter w = writer(1000, 0, 3);
        out.failures = 3;
        w.write(point("v1", 1, 1.0), null);
        w.flush(false);
        assertEquals(3, out.recovered);
        assertEquals(1, out.batches.size());
        assertEquals("v1", out.batches.get(0).upserts().get(0)[0]);
    }

    @Test
    void afterMaxRetriesTheWriterThrows() throws Exception {
        PointsSinkWriter w = writer(1000, 0, 2);
        out.failures = 3;
        w.write(point("v1", 1, 1.0), null);
        IOException e = assertThrows(IOException.class, () -> w.flush(false));
        assertTrue(e.getMessage().contains("after 2 retries"), e.getMessage());
        assertTrue(e.getCause() instanceof SQLException);
        assertEquals(0, out.batches.size());
        w.close();
        assertTrue(out.closed);
    }

    @Test
    void aTimerFlushThatFailsAfterItsRetriesFailsTheNextFlush() throws Exception {
        PointsSinkWriter w = writer(1000, 100, 0);
        out.failures = 1;
        w.write(point("v1", 1, 1.0), null);
        time.advanceTo(100); // handed to the writer thread
        IOException e = assertThrows(IOException.class, () -> w.flush(false));
        assertTrue(e.getMessage().contains("writing 1 rows failed"), e.getMessage());
        assertThrows(IOException.class, () -> w.flush(true)); // and every call after it
        assertEquals(0, out.batches.size());
    }

    @Test
    void aBatchThatFailedOnTheWriterThreadFailsTheNextWrite() throws Exception {
        PointsSinkWriter w = writer(1, 0, 0);
        out.failures = 1;
        w.write(point("v1", 1, 1.0), null); // max rows: handed to the writer thread, which fails
        Future<?> failed = w.inFlight();
        assertThrows(ExecutionException.class, failed::get);
        IOException e = assertThrows(IOException.class, () -> w.write(point("v2", 1, 1.0), null));
        assertTrue(e.getCause() instanceof SQLException);
        assertThrows(IOException.class, () -> w.write(point("v3", 1, 1.0), null));
        assertEquals(0, out.batches.size());
    }

    @Test
    void theTaskKeepsBufferingWhileABatchIsInFlight() throws Exception {
        HeldWriter held = new HeldWriter();
        out = held;
        PointsSinkWriter w = writer(2, 0, 0);
        w.write(point("v1", 1, 1.0), null);
        w.write(point("v2", 1, 1.0), null); // full: handed over, held in the writer
        held.started.acquire();
        w.write(point("v3", 1, 1.0), null); // returns: buffered while the first batch is written
        assertEquals(0, held.batches.size());
        held.release.release(2);
        w.flush(false);
        assertEquals(2, held.batches.size());
        assertEquals(2, held.batches.get(0).size());
        assertEquals("v3", held.batches.get(1).upserts().get(0)[0]);
        assertNull(w.inFlight());
    }

    @Test
    void aFullBufferWaitsForTheBatchInFlight() throws Exception {
        HeldWriter held = new HeldWriter();
        out = held;
        PointsSinkWriter w = writer(1, 0, 0);
        w.write(point("v1", 1, 1.0), null); // in flight, held
        held.started.acquire();
        Thread producer = new Thread(() -> {
            try {
                w.write(point("v2", 1, 1.0), null); // full again: must wait for v1's batch
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        producer.start();
        while (producer.getState() != Thread.State.WAITING) {
            Thread.onSpinWait(); // parked in the wait for the batch in flight
        }
        assertTrue(producer.isAlive());
        assertEquals(0, held.batches.size());
        assertEquals(0, held.started.availablePermits()); // the second batch has not started
        held.release.release();
        producer.join();
        held.release.release();
        w.flush(false);
        assertEquals(2, held.batches.size());
        assertEquals("v1", held.batches.get(0).upserts().get(0)[0]);
        assertEquals("v2", held.batches.get(1).upserts().get(0)[0]);
    }

    @Test
    void aCheckpointFlushWaitsForTheBatchInFlightAndWritesTheBuffer() throws Exception {
        HeldWriter held = new HeldWriter();
        out = held;
        PointsSinkWriter w = writer(1, 0, 0);
        w.write(point("v1", 1, 1.0), null); // in flight, held
        held.started.acquire();
        Thread checkpoint = new Thread(() -> {
            try {
                w.flush(false);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        checkpoint.start();
        while (checkpoint.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        assertEquals(0, held.batches.size());
        held.release.release();
        checkpoint.join();
        assertEquals(1, held.batches.size());
        assertNull(w.inFlight());
        w.close();
        assertTrue(held.closed);
    }
}

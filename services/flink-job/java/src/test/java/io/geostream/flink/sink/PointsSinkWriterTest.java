package io.geostream.flink.sink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
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
    static final class RecordingWriter implements BatchWriter {
        final List<UpsertBuffer.Batch> batches = new ArrayList<>();
        int failures;
        int recovered;
        boolean closed;

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

    private final ManualTime time = new ManualTime();
    private final RecordingWriter out = new RecordingWriter();

    private PointsSinkWriter writer(int maxRows, long intervalMs, int maxRetries) {
        return new PointsSinkWriter(
                new SinkSettings("jdbc:postgresql://unused/db", "u", "p", maxRows, intervalMs, maxRetries, 0),
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
        assertEquals(1, out.batches.size());
        assertEquals(3, out.batches.get(0).size());
        w.write(point("v4", 1, 1.0), null);
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
        assertEquals(0, out.batches.size());
        time.advanceTo(1200);
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
        assertEquals(1, out.batches.size());
        time.advanceTo(150);
        w.write(point("v3", 1, 1.0), null); // new batch, due at 350
        time.advanceTo(200);
        assertEquals(1, out.batches.size());
        time.advanceTo(349);
        assertEquals(1, out.batches.size());
        time.advanceTo(350);
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
    void aTimerFlushThatFailsAfterItsRetriesThrows() {
        PointsSinkWriter w = writer(1000, 100, 0);
        out.failures = 1;
        assertThrows(IOException.class, () -> {
            w.write(point("v1", 1, 1.0), null);
            time.advanceTo(100);
        });
    }
}

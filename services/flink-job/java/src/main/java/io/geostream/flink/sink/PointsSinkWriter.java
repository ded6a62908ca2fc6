package io.geostream.flink.sink;

import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers rows (one per key, last wins) and writes them as one batch when the buffer holds
 * {@code maxRows} keys, when its first row is {@code flushIntervalMs} old, and in {@link #flush} (before
 * every checkpoint and at the end of input: a checkpoint never completes with rows unwritten). Every flush
 * runs on the task's thread (the interval through Flink's processing-time timers, which run in the task's
 * mailbox), so two flushes never overlap and no lock is needed.
 */
final class PointsSinkWriter implements SinkWriter<RowData> {
    private static final Logger LOG = LoggerFactory.getLogger(PointsSinkWriter.class);

    private final SinkSettings settings;
    private final List<ColumnKind> kinds;
    private final List<LogicalType> types;
    private final UpsertBuffer buffer;
    private final BatchWriter out;
    private final ProcessingTimeService time;
    private final Counter rowsWritten;
    private final Counter flushes;
    private final Counter retries;
    private volatile long lastFlushMs;
    private long firstRowAt;
    private boolean timerPending;

    PointsSinkWriter(
            SinkSettings settings,
            ArrayUpsert statements,
            List<LogicalType> types,
            BatchWriter out,
            ProcessingTimeService time,
            SinkWriterMetricGroup metrics) {
        this.settings = settings;
        this.kinds = statements.kinds;
        this.types = List.copyOf(types);
        this.buffer = new UpsertBuffer(statements.keyIndexes);
        this.out = out;
        this.time = time;
        this.rowsWritten = metrics.getNumRecordsSendCounter();
        this.flushes = metrics.counter("pointsSinkFlushes");
        this.retries = metrics.counter("pointsSinkRetries");
        metrics.gauge("pointsSinkLastFlushMs", () -> lastFlushMs);
        metrics.gauge("pointsSinkMergedRows", buffer::merged);
    }

    @Override
    public void write(RowData row, Context context) throws IOException, InterruptedException {
        Object[] values = new Object[kinds.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = kinds.get(i).read(row, i, types.get(i));
        }
        boolean wasEmpty = buffer.isEmpty();
        int size;
        switch (row.getRowKind()) {
            case INSERT:
            case UPDATE_AFTER:
                size = buffer.upsert(values);
                break;
            case DELETE:
                size = buffer.delete(values);
                break;
            default: // UPDATE_BEFORE: the UPDATE_AFTER that follows carries the row
                return;
        }
        if (size >= settings.maxRows()) {
            flushBuffer();
        } else if (wasEmpty && settings.flushIntervalMs() > 0) {
            firstRowAt = time.getCurrentProcessingTime();
            scheduleFlush(firstRowAt + settings.flushIntervalMs());
        }
    }

    private void scheduleFlush(long at) {
        if (!timerPending) {
            timerPending = true;
            time.registerTimer(at, this::onTimer);
        }
    }

    private void onTimer(long now) throws IOException, InterruptedException {
        timerPending = false;
        if (buffer.isEmpty()) {
            return;
        }
        long due = firstRowAt + settings.flushIntervalMs();
        if (now >= due) {
            flushBuffer();
        } else { // the batch this timer was set for is written; the current one is younger
            scheduleFlush(due);
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        flushBuffer();
    }

    private void flushBuffer() throws IOException, InterruptedException {
        if (buffer.isEmpty()) {
            return;
        }
        UpsertBuffer.Batch batch = buffer.drain();
        long started = System.nanoTime();
        for (int attempt = 0; ; attempt++) {
            try {
                out.write(batch);
                break;
            } catch (SQLException e) {
                if (attempt >= settings.maxRetries()) {
                    throw new IOException(
                            "geostream-points sink: writing " + batch.size() + " rows failed after " + attempt
                                    + " retries",
                            e);
                }
                retries.inc();
                LOG.warn("geostream-points sink: writing {} rows failed (attempt {} of {}), retrying: {}",
                        batch.size(), attempt + 1, settings.maxRetries() + 1, e.toString());
                out.recover();
                Thread.sleep(settings.retryBackoffMs() * (attempt + 1));
            }
        }
        lastFlushMs = (System.nanoTime() - started) / 1_000_000;
        rowsWritten.inc(batch.size());
        flushes.inc();
    }

    @Override
    public void close() {
        out.close();
    }
}

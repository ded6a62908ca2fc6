package io.geostream.flink.sink;

import java.io.IOException;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers rows (one per key, last wins) on the task's thread and writes them as one batch, on a writer thread
 * of its own, when the buffer holds {@code maxRows} keys or its first row is {@code flushIntervalMs} old; the
 * task keeps parsing meanwhile. At most one batch is in flight: a full buffer waits for the batch before it
 * (backpressure). {@link #flush} (before every checkpoint and at the end of input) writes the buffer and
 * waits until nothing is in flight, so a checkpoint never completes with rows unwritten. A batch that still
 * fails after its retries fails the next {@code write}, {@code flush} or timer of the task: nothing is
 * dropped silently. Batches are written one after the other, in order, so the last change of a key wins.
 */
final class PointsSinkWriter implements SinkWriter<RowData> {
    private static final Logger LOG = LoggerFactory.getLogger(PointsSinkWriter.class);
    private static final long CLOSE_WAIT_S = 10;

    private final SinkSettings settings;
    private final List<ColumnKind> kinds;
    private final List<LogicalType> types;
    private final UpsertBuffer buffer;
    private final BatchWriter out;
    private final ProcessingTimeService time;
    private final ExecutorService writerThread;
    private final Counter rowsWritten;
    private final Counter flushes;
    private final Counter retries;
    private volatile long lastFlushMs;
    private long firstRowAt;
    private boolean timerPending;
    /** The batch being written on the writer thread, or null. Touched by the task's thread only. */
    private Future<?> inFlight;
    /** The first batch that could not be written: thrown by every later call. */
    private IOException failure;

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
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        this.writerThread = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "geostream-points-writer (" + statements.table + ")");
            thread.setDaemon(true);
            thread.setContextClassLoader(loader);
            return thread;
        });
        this.rowsWritten = metrics.getNumRecordsSendCounter();
        this.flushes = metrics.counter("pointsSinkFlushes");
        this.retries = metrics.counter("pointsSinkRetries");
        metrics.gauge("pointsSinkLastFlushMs", () -> lastFlushMs);
        metrics.gauge("pointsSinkMergedRows", buffer::merged);
        metrics.gauge("pointsSinkCopyConflicts", out::copyConflicts);
    }

    @Override
    public void write(RowData row, Context context) throws IOException, InterruptedException {
        if (inFlight != null && inFlight.isDone()) {
            awaitInFlight(); // throws if that batch failed
        }
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
            submitBuffer();
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
            submitBuffer();
        } else { // the batch this timer was set for is written; the current one is younger
            scheduleFlush(due);
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        submitBuffer();
        awaitInFlight();
    }

    /** Hands the buffer to the writer thread once the batch before it is written. */
    private void submitBuffer() throws IOException, InterruptedException {
        if (failure != null) {
            throw failure;
        }
        if (buffer.isEmpty()) {
            return;
        }
        awaitInFlight();
        UpsertBuffer.Batch batch = buffer.drain();
        inFlight = writerThread.submit(() -> {
            writeWithRetries(batch);
            return null;
        });
    }

    /** Waits for the batch in flight; throws (now and at every later call) if it could not be written. */
    void awaitInFlight() throws IOException, InterruptedException {
        if (failure != null) {
            throw failure;
        }
        if (inFlight == null) {
            return;
        }
        try {
            inFlight.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            failure = cause instanceof IOException
                    ? (IOException) cause
                    : new IOException("geostream-points sink: the writer thread failed", cause);
            throw failure;
        } finally {
            if (inFlight.isDone()) {
                inFlight = null;
            }
        }
    }

    /** The batch in flight, or null (for the tests: lets them wait for a write that fails). */
    Future<?> inFlight() {
        return inFlight;
    }

    /** On the writer thread. */
    private void writeWithRetries(UpsertBuffer.Batch batch) throws IOException, InterruptedException {
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
        // Cancelled or failed: a batch still in flight is abandoned (its rows are replayed from the last
        // checkpoint); a finished job flushed already. The interrupt ends a retry's wait; a statement stuck
        // in the driver ends when its connection is closed.
        writerThread.shutdownNow();
        try {
            if (!writerThread.awaitTermination(1, TimeUnit.SECONDS)) {
                out.close();
                if (!writerThread.awaitTermination(CLOSE_WAIT_S, TimeUnit.SECONDS)) {
                    LOG.warn("geostream-points sink: the writer thread did not stop within {} s", CLOSE_WAIT_S);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            out.close();
        }
    }
}

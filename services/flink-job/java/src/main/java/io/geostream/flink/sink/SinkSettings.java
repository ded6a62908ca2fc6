package io.geostream.flink.sink;

import java.io.Serializable;

/**
 * The sink's options (see {@link PointsSinkFactory}). {@code retryBackoffMs} is the wait before the first
 * retry; the n-th retry waits n times as long, as the JDBC connector does. {@code copyNewRows}: try a batch
 * as COPY before the upsert ({@link PgArrayWriter}).
 */
record SinkSettings(
        String url,
        String username,
        String password,
        int maxRows,
        long flushIntervalMs,
        int maxRetries,
        long retryBackoffMs,
        boolean copyNewRows)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    SinkSettings {
        if (maxRows < 1) {
            throw new IllegalArgumentException("sink.buffer-flush.max-rows must be at least 1");
        }
        if (flushIntervalMs < 0 || maxRetries < 0 || retryBackoffMs < 0) {
            throw new IllegalArgumentException("sink.buffer-flush.interval and sink.max-retries must not be negative");
        }
    }

    @Override
    public String toString() {
        return "SinkSettings[url=" + url + ", username=" + username + ", maxRows=" + maxRows + ", flushIntervalMs="
                + flushIntervalMs + ", maxRetries=" + maxRetries + ", copyNewRows=" + copyNewRows + "]";
    }
}

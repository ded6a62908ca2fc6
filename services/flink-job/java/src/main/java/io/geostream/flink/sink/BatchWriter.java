package io.geostream.flink.sink;

import java.sql.SQLException;

/** Where a batch goes: PostgreSQL in the job ({@link PgArrayWriter}), a recorder in the unit tests. */
interface BatchWriter extends AutoCloseable {
    /** Writes the batch (its deletions, then its upserts); connects first when not connected. */
    void write(UpsertBuffer.Batch batch) throws SQLException;

    /** After a failed write: drops the connection when it is broken, so the next write reconnects. */
    void recover();

    /** Batches whose COPY met a stored key and were upserted instead (see {@link PgArrayWriter}). */
    default long copyConflicts() {
        return 0;
    }

    @Override
    void close();
}

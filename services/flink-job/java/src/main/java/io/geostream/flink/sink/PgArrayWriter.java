package io.geostream.flink.sink;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.reflect.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a batch with one statement per kind of change; autocommit, so each statement is its own transaction.
 * A batch holds each key once, so its deletions and upserts are independent.
 *
 * <p>Upserts: live points are new keys, so a batch is first sent as one {@code COPY} (PostgreSQL's cheapest
 * write, with the same triggers). When a key is already stored (a replay after a restart, a correction, a
 * device resending a point) the COPY fails as a whole and writes nothing; the batch then goes as the upsert,
 * each column bound as one array ({@link Connection#createArrayOf}), and so do the next
 * {@link #UPSERT_BATCHES_AFTER_CONFLICT} batches (a replay comes as a run of such batches). Both end with the
 * same rows stored: a new key is inserted either way, a stored one is updated only by the upsert.
 */
final class PgArrayWriter implements BatchWriter {
    private static final Logger LOG = LoggerFactory.getLogger(PgArrayWriter.class);
    private static final int VALID_CHECK_TIMEOUT_S = 5;
    private static final String UNIQUE_VIOLATION = "23505";
    static final int UPSERT_BATCHES_AFTER_CONFLICT = 16;

    private final SinkSettings settings;
    private final ArrayUpsert statements;
    private Connection connection;
    private PreparedStatement upsert;
    private PreparedStatement delete;
    private CopyManager copy;
    /** Batches still to be sent as the upsert without trying COPY first (after a conflict). */
    private int upsertOnlyBatches;
    private volatile long copyConflicts;

    PgArrayWriter(SinkSettings settings, ArrayUpsert statements) {
        this.settings = settings;
        this.statements = statements;
    }

    @Override
    public void write(UpsertBuffer.Batch batch) throws SQLException {
        connect();
        if (!batch.deletes().isEmpty()) {
            bind(delete, batch.deletes(), statements.keys());
            delete.executeUpdate();
        }
        if (!batch.upserts().isEmpty() && !copied(batch.upserts())) {
            bind(upsert, batch.upserts(), allColumns());
            upsert.executeUpdate();
        }
    }

    /** COPY the rows when no conflict was seen lately; false when they still have to be upserted. */
    private boolean copied(List<Object[]> rows) throws SQLException {
        if (!settings.copyNewRows()) {
            return false;
        }
        if (upsertOnlyBatches > 0) {
            upsertOnlyBatches--;
            return false;
        }
        byte[] text = CopyText.render(rows, statements.kinds);
        try {
            copy.copyIn(statements.copySql(), new ByteArrayInputStream(text), text.length);
            return true;
        } catch (SQLException e) {
            if (!UNIQUE_VIOLATION.equals(e.getSQLState())) {
                throw e;
            }
            copyConflicts++;
            upsertOnlyBatches = UPSERT_BATCHES_AFTER_CONFLICT;
            LOG.debug("geostream-points sink: a key of the batch is stored, upserting it", e);
            return false;
        } catch (IOException e) {
            throw new SQLException("COPY into " + statements.table + " failed reading its own buffer", e);
        }
    }

    @Override
    public long copyConflicts() {
        return copyConflicts;
    }

    private List<Integer> allColumns() {
        return java.util.stream.IntStream.range(0, statements.columns.size()).boxed().toList();
    }

    private void bind(PreparedStatement statement, List<Object[]> rows, List<Integer> columns) throws SQLException {
        int parameter = 1;
        for (int column : columns) {
            ColumnKind kind = statements.kinds.get(column);
            Object[] values = (Object[]) Array.newInstance(kind.javaType, rows.size());
            for (int r = 0; r < values.length; r++) {
                values[r] = rows.get(r)[column];
            }
            statement.setArray(parameter++, connection.createArrayOf(kind.pgType, values));
        }
    }

    private void connect() throws SQLException {
        if (connection != null) {
            return;
        }
        Properties properties = new Properties();
        if (settings.username() != null) {
            properties.setProperty("user", settings.username());
        }
        if (settings.password() != null) {
            properties.setProperty("password", settings.password());
        }
        Connection opened = DriverManager.getConnection(settings.url(), properties);
        try {
            opened.setAutoCommit(true);
            upsert = opened.prepareStatement(statements.upsertSql());
            delete = opened.prepareStatement(statements.deleteSql());
            copy = opened.unwrap(PGConnection.class).getCopyAPI();
        } catch (SQLException e) {
            closeQuietly(opened);
            throw e;
        }
        connection = opened;
        LOG.info("geostream-points sink connected to {} (table {})", settings.url(), statements.table);
    }

    @Override
    public void recover() {
        if (connection == null) {
            return;
        }
        boolean valid;
        try {
            valid = connection.isValid(VALID_CHECK_TIMEOUT_S);
        } catch (SQLException e) {
            valid = false;
        }
        if (!valid) {
            LOG.warn("geostream-points sink: connection broken, reconnecting at the next attempt");
            close();
        }
    }

    @Override
    public void close() {
        if (connection != null) {
            closeQuietly(connection);
        }
        connection = null;
        upsert = null;
        delete = null;
        copy = null;
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            LOG.debug("closing the connection failed", e);
        }
    }
}

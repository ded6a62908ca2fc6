package io.geostream.flink.sink;

import java.lang.reflect.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a batch with one statement per kind of change, each column bound as one array
 * ({@link Connection#createArrayOf}); autocommit, so each statement is its own transaction. A batch holds
 * each key once, so its deletions and upserts are independent; a replay rewrites the same rows.
 */
final class PgArrayWriter implements BatchWriter {
    private static final Logger LOG = LoggerFactory.getLogger(PgArrayWriter.class);
    private static final int VALID_CHECK_TIMEOUT_S = 5;

    private final SinkSettings settings;
    private final ArrayUpsert statements;
    private Connection connection;
    private PreparedStatement upsert;
    private PreparedStatement delete;

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
        if (!batch.upserts().isEmpty()) {
            bind(upsert, batch.upserts(), allColumns());
            upsert.executeUpdate();
        }
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
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            LOG.debug("closing the connection failed", e);
        }
    }
}

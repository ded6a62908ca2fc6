package io.geostream.flink.sink;

import java.math.BigDecimal;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.DecimalType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;

/**
 * How one Flink column travels to PostgreSQL: the element type of its bound array and the Java value read
 * from a {@link RowData}. Timestamps travel as ISO 8601 text with an explicit UTC offset, so the stored
 * instant never depends on the JVM's or the session's time zone.
 */
enum ColumnKind {
    TEXT("text", String.class),
    BOOLEAN("bool", Boolean.class),
    SMALLINT("int2", Short.class),
    INTEGER("int4", Integer.class),
    BIGINT("int8", Long.class),
    REAL("float4", Float.class),
    DOUBLE("float8", Double.class),
    NUMERIC("numeric", BigDecimal.class),
    /** TIMESTAMP (no zone): read as UTC wall time, as the job's table.local-time-zone makes it. */
    TIMESTAMP("timestamptz", String.class),
    /** TIMESTAMP_LTZ: an instant. */
    TIMESTAMP_LTZ("timestamptz", String.class);

    private static final DateTimeFormatter UTC_TEXT = DateTimeFormatter.ISO_LOCAL_DATE_TIME;

    final String pgType;
    final Class<?> javaType;

    ColumnKind(String pgType, Class<?> javaType) {
        this.pgType = pgType;
        this.javaType = javaType;
    }

    static ColumnKind of(LogicalType type) {
        switch (type.getTypeRoot()) {
            case CHAR:
            case VARCHAR:
                return TEXT;
            case BOOLEAN:
                return BOOLEAN;
            case SMALLINT:
                return SMALLINT;
            case INTEGER:
                return INTEGER;
            case BIGINT:
                return BIGINT;
            case FLOAT:
                return REAL;
            case DOUBLE:
                return DOUBLE;
            case DECIMAL:
                return NUMERIC;
            case TIMESTAMP_WITHOUT_TIME_ZONE:
                return TIMESTAMP;
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE:
                return TIMESTAMP_LTZ;
            default:
                throw new IllegalArgumentException("type " + type + " is not supported by the geostream-points sink");
        }
    }

    /** The value of field {@code pos} of {@code row}, immutable (rows may be reused), or null. */
    Object read(RowData row, int pos, LogicalType type) {
        if (row.isNullAt(pos)) {
            return null;
        }
        switch (this) {
            case TEXT:
                return row.getString(pos).toString();
            case BOOLEAN:
                return row.getBoolean(pos);
            case SMALLINT:
                return row.getShort(pos);
            case INTEGER:
                return row.getInt(pos);
            case BIGINT:
                return row.getLong(pos);
            case REAL:
                return row.getFloat(pos);
            case DOUBLE:
                return row.getDouble(pos);
            case NUMERIC: {
                DecimalType decimal = (DecimalType) type;
                DecimalData value = row.getDecimal(pos, decimal.getPrecision(), decimal.getScale());
                return value.toBigDecimal();
            }
            case TIMESTAMP:
                return UTC_TEXT.format(row.getTimestamp(pos, ((TimestampType) type).getPrecision()).toLocalDateTime())
                        + "Z";
            case TIMESTAMP_LTZ:
                return UTC_TEXT.format(
                                row.getTimestamp(pos, ((LocalZonedTimestampType) type).getPrecision())
                                        .toInstant()
                                        .atOffset(ZoneOffset.UTC)
                                        .toLocalDateTime())
                        + "Z";
            default:
                throw new IllegalStateException(name());
        }
    }
}

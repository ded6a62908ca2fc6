package io.geostream.flink.sink;

import java.math.BigDecimal;
import java.time.LocalDateTime;
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

    /**
     * {@code t} as ISO 8601 text with {@code Z}, the same text as {@link DateTimeFormatter#ISO_LOCAL_DATE_TIME}
     * (seconds always, the fraction without trailing zeros) written by hand for four-digit years: the
     * formatter's fraction printer goes through BigDecimal, and every point has a timestamp (a profile of
     * the job showed it as most of the sink's own CPU).
     */
    static String utcText(LocalDateTime t) {
        int year = t.getYear();
        if (year < 1000 || year > 9999) {
            return UTC_TEXT.format(t) + "Z";
        }
        StringBuilder text = new StringBuilder(30).append(year).append('-');
        twoDigits(text, t.getMonthValue()).append('-');
        twoDigits(text, t.getDayOfMonth()).append('T');
        twoDigits(text, t.getHour()).append(':');
        twoDigits(text, t.getMinute()).append(':');
        twoDigits(text, t.getSecond());
        int nanos = t.getNano();
        if (nanos > 0) {
            int digits = 9;
            while (nanos % 10 == 0) {
                nanos /= 10;
                digits--;
            }
            String fraction = Integer.toString(nanos);
            text.append('.');
            for (int i = fraction.length(); i < digits; i++) {
                text.append('0');
            }
            text.append(fraction);
        }
        return text.append('Z').toString();
    }

    private static StringBuilder twoDigits(StringBuilder text, int value) {
        return text.append((char) ('0' + value / 10)).append((char) ('0' + value % 10));
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
                return utcText(row.getTimestamp(pos, ((TimestampType) type).getPrecision()).toLocalDateTime());
            case TIMESTAMP_LTZ:
                return utcText(row.getTimestamp(pos, ((LocalZonedTimestampType) type).getPrecision())
                        .toInstant()
                        .atOffset(ZoneOffset.UTC)
                        .toLocalDateTime());
            default:
                throw new IllegalStateException(name());
        }
    }
}

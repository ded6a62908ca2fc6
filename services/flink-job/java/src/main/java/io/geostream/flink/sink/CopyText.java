package io.geostream.flink.sink;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Rows as the input of {@code COPY ... FROM STDIN} in PostgreSQL's text format: a tab between values, a
 * newline after each row, {@code \N} for NULL, and backslash escapes for the four characters that would
 * otherwise end a value or a row ({@code \}, tab, newline, carriage return). UTF-8, as pgjdbc's sessions.
 */
final class CopyText {
    private CopyText() {}

    /** The rows (one value per column, as {@link ColumnKind#read} gives them) as COPY text. */
    static byte[] render(List<Object[]> rows, List<ColumnKind> kinds) {
        StringBuilder text = new StringBuilder(rows.size() * 16 * Math.max(1, kinds.size()));
        for (Object[] row : rows) {
            for (int column = 0; column < kinds.size(); column++) {
                if (column > 0) {
                    text.append('\t');
                }
                appendValue(text, row[column]);
            }
            text.append('\n');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void appendValue(StringBuilder text, Object value) {
        if (value == null) {
            text.append("\\N");
        } else if (value instanceof String string) {
            appendEscaped(text, string);
        } else if (value instanceof BigDecimal decimal) {
            text.append(decimal.toPlainString());
        } else {
            // Numbers and booleans: Double.toString's "1.0E-4", "NaN" and "Infinity" are PostgreSQL input
            // too, and none of them needs an escape.
            text.append(value);
        }
    }

    private static void appendEscaped(StringBuilder text, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> text.append("\\\\");
                case '\t' -> text.append("\\t");
                case '\n' -> text.append("\\n");
                case '\r' -> text.append("\\r");
                default -> text.append(c);
            }
        }
    }
}

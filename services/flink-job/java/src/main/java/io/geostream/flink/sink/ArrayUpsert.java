package io.geostream.flink.sink;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The statements of the sink: the upsert and the delete bind one array per column, so a whole batch is one
 * statement, whatever its size: PostgreSQL parses and plans it once (pgjdbc's rewritten batches send a
 * statement per 128 rows) and the table's statement-level triggers fire once; the COPY, for batches of new
 * keys, is one statement too.
 */
final class ArrayUpsert implements Serializable {
    private static final long serialVersionUID = 1L;
    /** The alias of the table in the upsert (its stored row, against {@code excluded}). */
    private static final String TARGET = "\"target\"";

    final String table;
    final List<String> columns;
    final List<ColumnKind> kinds;
    final int[] keyIndexes;

    ArrayUpsert(String table, List<String> columns, List<ColumnKind> kinds, int[] keyIndexes) {
        if (columns.size() != kinds.size() || columns.isEmpty()) {
            throw new IllegalArgumentException("one kind per column, at least one column");
        }
        if (keyIndexes.length == 0) {
            throw new IllegalArgumentException("the geostream-points sink needs a PRIMARY KEY (its ON CONFLICT target)");
        }
        this.table = table;
        this.columns = List.copyOf(columns);
        this.kinds = List.copyOf(kinds);
        this.keyIndexes = keyIndexes.clone();
    }

    /**
     * {@code INSERT INTO t AS target (cols) SELECT * FROM unnest(?::type[], ...) ON CONFLICT (key) DO UPDATE SET
     * ... WHERE (target.cols) IS DISTINCT FROM (excluded.cols)}: a row that would not change is not written
     * (no new row version, no index entries, nothing for the update trigger), so a replay after a restart
     * costs a lookup per row, not a write.
     */
    String upsertSql() {
        List<Integer> all = IntStream.range(0, columns.size()).boxed().collect(Collectors.toList());
        List<String> updates = new ArrayList<>();
        List<String> stored = new ArrayList<>();
        List<String> incoming = new ArrayList<>();
        for (int i : all) {
            if (!isKey(i)) {
                String column = quote(columns.get(i));
                updates.add(column + " = excluded." + column);
                stored.add(TARGET + "." + column);
                incoming.add("excluded." + column);
            }
        }
        String onConflict = updates.isEmpty()
                ? "DO NOTHING"
                : "DO UPDATE SET " + String.join(", ", updates) + " WHERE (" + String.join(", ", stored)
                        + ") IS DISTINCT FROM (" + String.join(", ", incoming) + ")";
        return "INSERT INTO " + quotedTable() + " AS " + TARGET + " (" + columnList(all) + ") SELECT * FROM unnest("
                + arrayParameters(all) + ") ON CONFLICT (" + columnList(keys()) + ") " + onConflict;
    }

    /**
     * {@code COPY t (cols) FROM STDIN}: rows whose keys are not stored yet, at a third less of PostgreSQL's
     * time than the upsert ({@code bench/README.md}); a stored key makes the whole COPY fail (unique_violation).
     */
    String copySql() {
        List<Integer> all = IntStream.range(0, columns.size()).boxed().collect(Collectors.toList());
        return "COPY " + quotedTable() + " (" + columnList(all) + ") FROM STDIN";
    }

    /** {@code DELETE FROM t WHERE (key) IN (SELECT * FROM unnest(?::type[], ...))}: a changelog's deletions. */
    String deleteSql() {
        return "DELETE FROM " + quotedTable() + " WHERE (" + columnList(keys()) + ") IN (SELECT * FROM unnest("
                + arrayParameters(keys()) + "))";
    }

    List<Integer> keys() {
        return IntStream.of(keyIndexes).boxed().collect(Collectors.toList());
    }

    private boolean isKey(int index) {
        return IntStream.of(keyIndexes).anyMatch(k -> k == index);
    }

    private String columnList(List<Integer> indexes) {
        return indexes.stream().map(i -> quote(columns.get(i))).collect(Collectors.joining(", "));
    }

    private String arrayParameters(List<Integer> indexes) {
        return indexes.stream().map(i -> "?::" + kinds.get(i).pgType + "[]").collect(Collectors.joining(", "));
    }

    /** {@code schema.table} as two quoted identifiers, as written (no case folding). */
    private String quotedTable() {
        String[] parts = table.split("\\.", -1);
        List<String> quoted = new ArrayList<>();
        for (String part : parts) {
            quoted.add(quote(part));
        }
        return String.join(".", quoted);
    }

    static String quote(String identifier) {
        if (identifier.isEmpty()) {
            throw new IllegalArgumentException("empty identifier");
        }
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }
}

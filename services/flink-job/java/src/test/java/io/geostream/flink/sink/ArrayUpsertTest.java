package io.geostream.flink.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.MapType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.VarCharType;
import org.junit.jupiter.api.Test;

class ArrayUpsertTest {
    private static final ArrayUpsert POINTS = new ArrayUpsert(
            "vehicle_points",
            List.of("vehicle_id", "ts", "lon", "source"),
            List.of(ColumnKind.TEXT, ColumnKind.TIMESTAMP, ColumnKind.DOUBLE, ColumnKind.TEXT),
            new int[] {0, 1});

    @Test
    void copyNamesEveryColumnInOrder() {
        assertEquals(
                "COPY \"vehicle_points\" (\"vehicle_id\", \"ts\", \"lon\", \"source\") FROM STDIN",
                POINTS.copySql());
    }

    @Test
    void upsertIsOneStatementOverOneArrayPerColumn() {
        assertEquals(
                "INSERT INTO \"vehicle_points\" AS \"target\" (\"vehicle_id\", \"ts\", \"lon\", \"source\") "
                        + "SELECT * FROM unnest(?::text[], ?::timestamptz[], ?::float8[], ?::text[]) ON CONFLICT "
                        + "(\"vehicle_id\", \"ts\") DO UPDATE SET \"lon\" = excluded.\"lon\", \"source\" = "
                        + "excluded.\"source\" WHERE (\"target\".\"lon\", \"target\".\"source\") IS DISTINCT FROM "
                        + "(excluded.\"lon\", excluded.\"source\")",
                POINTS.upsertSql());
    }

    @Test
    void deleteBindsTheKeyColumnsOnly() {
        assertEquals(
                "DELETE FROM \"vehicle_points\" WHERE (\"vehicle_id\", \"ts\") IN (SELECT * FROM "
                        + "unnest(?::text[], ?::timestamptz[]))",
                POINTS.deleteSql());
    }

    @Test
    void aTableOfOnlyKeyColumnsDoesNothingOnConflict() {
        ArrayUpsert keysOnly = new ArrayUpsert(
                "s.t", List.of("a"), List.of(ColumnKind.BIGINT), new int[] {0});
        assertEquals(
                "INSERT INTO \"s\".\"t\" AS \"target\" (\"a\") SELECT * FROM unnest(?::int8[]) ON CONFLICT (\"a\") DO NOTHING",
                keysOnly.upsertSql());
    }

    @Test
    void identifiersAreQuoted() {
        assertEquals("\"we\"\"ird\"", ArrayUpsert.quote("we\"ird"));
        assertThrows(IllegalArgumentException.class, () -> ArrayUpsert.quote(""));
    }

    @Test
    void aPrimaryKeyIsRequired() {
        assertThrows(
                IllegalArgumentException.class,
                () -> new ArrayUpsert("t", List.of("a"), List.of(ColumnKind.TEXT), new int[0]));
    }

    @Test
    void flinkTypesMapToPostgresArrayTypes() {
        assertEquals("text", ColumnKind.of(new VarCharType(10)).pgType);
        assertEquals("float8", ColumnKind.of(new DoubleType()).pgType);
        assertEquals("int8", ColumnKind.of(new BigIntType()).pgType);
        assertEquals("timestamptz", ColumnKind.of(new TimestampType(3)).pgType);
        assertEquals("timestamptz", ColumnKind.of(new LocalZonedTimestampType(3)).pgType);
        assertThrows(
                IllegalArgumentException.class,
                () -> ColumnKind.of(new MapType(new VarCharType(1), new VarCharType(1))));
    }

    @Test
    void timestampsAreTheIsoFormattersTextWithZ() {
        Random random = new Random(13);
        List<LocalDateTime> times = new ArrayList<>(List.of(
                LocalDateTime.of(2024, 5, 1, 12, 0, 0),
                LocalDateTime.of(2024, 5, 1, 12, 0, 0, 123_000_000),
                LocalDateTime.of(2024, 12, 31, 23, 59, 59, 100_000_000),
                LocalDateTime.of(2000, 1, 1, 0, 0, 0, 1),
                LocalDateTime.of(1970, 1, 1, 0, 0, 1, 1_000),
                LocalDateTime.of(999, 1, 1, 0, 0),
                LocalDateTime.of(10_000, 1, 1, 0, 0, 0, 5_000_000)));
        for (int i = 0; i < 10_000; i++) {
            long second = 946_684_800L + (long) (random.nextDouble() * 2_000_000_000L);
            int millis = random.nextBoolean() ? random.nextInt(1000) * 1_000_000 : 0;
            int nanos = millis + (random.nextInt(4) == 0 ? random.nextInt(1_000_000) : 0);
            times.add(LocalDateTime.ofEpochSecond(second, nanos, ZoneOffset.UTC));
        }
        for (LocalDateTime t : times) {
            assertEquals(
                    DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(t) + "Z", ColumnKind.utcText(t),
                    t.toString());
        }
    }
}

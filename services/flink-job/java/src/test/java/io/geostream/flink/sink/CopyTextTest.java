package io.geostream.flink.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class CopyTextTest {
    private static final List<ColumnKind> KINDS = List.of(
            ColumnKind.TEXT, ColumnKind.TIMESTAMP, ColumnKind.DOUBLE, ColumnKind.BIGINT, ColumnKind.NUMERIC,
            ColumnKind.BOOLEAN);

    private static String render(Object[]... rows) {
        return new String(CopyText.render(Arrays.asList(rows), KINDS), StandardCharsets.UTF_8);
    }

    @Test
    void valuesAreTabSeparatedRowsEndWithANewlineAndNullIsBackslashN() {
        assertEquals(
                "v1\t2024-05-01T12:00:00.123Z\t2.5\t7\t1000\ttrue\n\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n",
                render(
                        new Object[] {"v1", "2024-05-01T12:00:00.123Z", 2.5, 7L, new BigDecimal("1E+3"), true},
                        new Object[] {null, null, null, null, null, null}));
    }

    @Test
    void theCharactersThatEndAValueOrARowAreEscapedAndEverythingElseIsKept() {
        String id = "a\\b\tc\nd\re \"q\" {x},NULL \\N é-中 \u0001";
        assertEquals(
                "a\\\\b\\tc\\nd\\re \"q\" {x},NULL \\\\N é-中 \u0001\t\\N\t\\N\t\\N\t\\N\t\\N\n",
                render(new Object[] {id, null, null, null, null, null}));
    }

    @Test
    void doublesUsePostgresqlReadableTextIncludingExponentsAndNonFiniteValues() {
        assertEquals(
                "x\t\\N\t1.0E-4\t\\N\t\\N\t\\N\nx\t\\N\tNaN\t\\N\t\\N\t\\N\nx\t\\N\t-Infinity\t\\N\t\\N\t\\N\n",
                render(
                        new Object[] {"x", null, 1e-4, null, null, null},
                        new Object[] {"x", null, Double.NaN, null, null, null},
                        new Object[] {"x", null, Double.NEGATIVE_INFINITY, null, null, null}));
    }

    @Test
    void noRowsIsNoText() {
        assertEquals("", render());
    }
}

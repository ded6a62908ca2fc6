package io.geostream.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.flink.table.data.RowData;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.regex.Pattern;

class LocationCheckTest {
    /** The job's defaults, as locations_job.py builds them from geostream. */
    static final String RULES =
            "{\"keys\": {\"vehicle_id\": [\"vehicle_id\", \"vehicleID\", \"vehicleId\"],"
                    + " \"ts\": [\"ts\", \"timestamp\"], \"lon\": [\"lon\", \"lng\", \"longitude\"],"
                    + " \"lat\": [\"lat\", \"latitude\"]},"
                    + " \"optional_ranges\": {\"speed\": [0.0, 1500.0], \"heading\": [0.0, 360.0],"
                    + " \"alt\": [-12000.0, 100000.0], \"accuracy\": [0.0, 1000000.0], \"battery\": [0.0, 100.0]},"
                    + " \"min_event_time_ms\": 946684800000, \"max_future_ms\": 300000,"
                    + " \"vehicle_id_max_len\": 128, \"source_max_len\": 64,"
                    + " \"ts_before_reason\": \"ts: before 2000-01-01T00:00:00.000Z\","
                    + " \"ts_future_reason\": \"ts: more than 300 s in the future\"}";

    static final long NOW = 1_764_600_000_000L; // 2025-12-01T14:40:00Z
    static final long TS = NOW - 60_000;
    static final LocationCheck CHECK = new LocationCheck(LocationRules.fromJson(RULES));
    static final String REFUSED = "control, invisible or invalid Unicode character";

    static CheckedLocation check(String raw) {
        return CHECK.check(raw, NOW);
    }

    /** A valid record with {@code extra} members added after the required ones (JSON text). */
    static String record(String extra) {
        return "{\"vehicle_id\": \"v1\", \"ts\": " + TS + ", \"lon\": 2.35, \"lat\": 48.85" + extra + "}";
    }

    static String reason(String raw) {
        return check(raw).reason;
    }

    @Test
    void aValidRecordIsNormalised() {
        CheckedLocation c =
                check(record(", \"speed\": 5, \"heading\": \"90.5\", \"alt\": 35.5, \"accuracy\": 4,"
                        + " \"battery\": 80, \"source\": \"simulator\", \"other\": {\"x\": [1, 2]}"));
        assertNull(c.reason, c.toString());
        assertEquals("v1", c.vehicleId);
        assertEquals(TS, c.tsMs);
        assertEquals(2.35, c.lon);
        assertEquals(48.85, c.lat);
        assertArrayEquals(new Double[] {5.0, 90.5, 35.5, 4.0, 80.0}, c.optional);
        assertEquals("simulator", c.source);
    }

    @Test
    void keyAliasesInOrderOfPreference() {
        CheckedLocation c =
                check("{\"vehicleId\": \"c\", \"vehicleID\": \"b\", \"timestamp\": " + TS
                        + ", \"longitude\": 1.5, \"lng\": 1.25, \"latitude\": \"-3.5\"}");
        assertNull(c.reason, c.toString());
        assertEquals("b", c.vehicleId);
        assertEquals(1.25, c.lon);
        assertEquals(-3.5, c.lat);
        // The contract's key wins over an alias; a null contract key falls back to the alias.
        assertEquals("a", check("{\"vehicleID\": \"b\", \"vehicle_id\": \"a\", \"ts\": " + TS
                + ", \"lon\": 1, \"lat\": 1}").vehicleId);
        assertEquals(7.0, check("{\"vehicle_id\": \"a\", \"ts\": " + TS + ", \"lon\": null, \"lng\": 7,"
                + " \"lat\": 1}").lon);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "1764599940        | 1764599940000", // seconds
                "1764599940.1236   | 1764599940124", // seconds with a fraction, rounded half up
                "1764599940000     | 1764599940000", // milliseconds
                "1764599940000123  | 1764599940000", // microseconds
                "1764599940000500000 | 1764599940001", // nanoseconds, half up
                "\"1764599940000\" | 1764599940000", // digit string
                "\" 1764599940 \"  | 1764599940000", // TRY_CAST trims
                "\"1.76459994E9\"  | 1764599940000",
                "\"2025-12-01T14:39:00Z\"            | 1764599940000",
                "\"2025-12-01 14:39:00\"             | 1764599940000", // no offset: UTC
                "\"2025-12-01T16:39:00.5+02:00\"     | 1764599940500",
                "\"2025-12-01T16:39:00.0005+0200\"   | 1764599940001",
                "\"2025-12-01T11:39:00.123-03\"      | 1764599940123",
                "\"2025-12-01T14:39:00.9999z\"       | 1764599941000",
            })
    void epochUnitsAndIso8601(String tsJson, long expectedMs) {
        CheckedLocation c = check("{\"vehicle_id\": \"v\", \"ts\": " + tsJson + ", \"lon\": 0, \"lat\": 0}");
        assertNull(c.reason, c.toString());
        assertEquals(expectedMs, c.tsMs);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "\"yesterday\"                   | ts: not an epoch number or ISO 8601 date-time",
                "\"2025-02-30T00:00:00Z\"        | ts: not an epoch number or ISO 8601 date-time",
                "\"2025-12-01T24:00:00Z\"        | ts: not an epoch number or ISO 8601 date-time",
                "\"2025-12-01T14:39:00+19:00\"   | ts: not an epoch number or ISO 8601 date-time",
                "\"2025-12-01\"                  | ts: not an epoch number or ISO 8601 date-time",
                "\"2025-12-01T14:39:00Z \"       | ts: not an epoch number or ISO 8601 date-time",
                "\"NaN\"                         | ts: not an epoch number or ISO 8601 date-time",
                "\"Infinity\"                    | ts: not an epoch number or ISO 8601 date-time",
                "1e400                           | ts: not an epoch number or ISO 8601 date-time",
                "true                            | ts: not an epoch number or ISO 8601 date-time",
                "null                            | ts: missing",
                "{\"s\": 1}                      | ts: missing",
                "[1764599940]                    | ts: missing",
                "0                               | ts: before 2000-01-01T00:00:00.000Z",
                "-5                              | ts: before 2000-01-01T00:00:00.000Z",
                "946684799                       | ts: before 2000-01-01T00:00:00.000Z",
                "\"1999-12-31T23:59:59.999Z\"    | ts: before 2000-01-01T00:00:00.000Z",
                "1764600300001                   | ts: more than 300 s in the future",
                "1e308                           | ts: more than 300 s in the future",
                "123456789012345678901234567890  | ts: more than 300 s in the future",
                "\"9999-12-31T23:59:59Z\"        | ts: more than 300 s in the future",
            })
    void timesOutsideTheWindowOrUnreadable(String tsJson, String expected) {
        assertEquals(expected, reason("{\"vehicle_id\": \"v\", \"ts\": " + tsJson + ", \"lon\": 0, \"lat\": 0}"));
    }

    @Test
    void theWindowsEdgesAreInclusive() {
        assertNull(reason("{\"vehicle_id\": \"v\", \"ts\": 946684800000, \"lon\": 0, \"lat\": 0}"));
        assertNull(reason("{\"vehicle_id\": \"v\", \"ts\": " + (NOW + 300_000) + ", \"lon\": 0, \"lat\": 0}"));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "\"lon\": 181.5, \"lat\": 1        | lon: outside [-180, 180]",
                "\"lon\": 1, \"lat\": -90.5        | lat: outside [-90, 90]",
                "\"lon\": 1e308, \"lat\": 1        | lon: outside [-180, 180]",
                "\"lon\": \"NaN\", \"lat\": 1      | lon: not a finite number",
                "\"lon\": \"-Infinity\", \"lat\": 1 | lon: not a finite number",
                "\"lon\": 1, \"lat\": 1e400        | lat: not a finite number",
                "\"lon\": 1, \"lat\": \"abc\"      | lat: not a finite number",
                "\"lon\": true, \"lat\": 1         | lon: not a finite number",
                "\"lon\": 1, \"lat\": {\"deg\": 1} | lat: missing",
                "\"lat\": 1                        | lon: missing",
                "\"lon\": \"\", \"lat\": 1         | lon: not a finite number",
            })
    void coordinates(String members, String expected) {
        assertEquals(expected, reason("{\"vehicle_id\": \"v\", \"ts\": " + TS + ", " + members + "}"));
    }

    @Test
    void missingCoordinatesAreReportedBeforeUnusableOnes() {
        assertEquals("lat: missing", reason("{\"vehicle_id\": \"v\", \"ts\": " + TS + ", \"lon\": \"x\"}"));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "'not json at all'",
                "''",
                "'   '",
                "'[{\"vehicle_id\": \"x\"}]'",
                "'\"just a string\"'",
                "'42'",
                "'{\"vehicle_id\": \"v\"'", // truncated
                "'{\"vehicle_id\": \"v\"} trailing'",
                "'{\"vehicle_id\": \"v\"}{}'",
                "'{\"vehicle_id\": \"v\", \"lat\": NaN}'", // NaN is no JSON literal
                "'{\"vehicle_id\": \"v\", /* c */ \"lat\": 1}'",
                "'{\"vehicle_id\": \"v\", \"x\": [1, }'", // malformed member of an unknown key
                "'{\"vehicle_id\": \"v\", \"x\": \"bad \\q escape\"}'",
                "'{vehicle_id: \"v\"}'",
            })
    void notAJsonObject(String raw) {
        assertEquals("not a JSON object", reason(raw));
    }

    @Test
    void controlCharactersRawInAJsonStringAreNotJson() {
        assertEquals("not a JSON object", reason(record(", \"source\": \"a\u0000b\"")));
        assertEquals("not a JSON object", reason(record(", \"note\": \"tab\there\"")));
    }

    @Test
    void numbersTooLongForJacksonAreNotJson() {
        assertEquals("not a JSON object", reason(record(", \"speed\": 1" + "0".repeat(2000))));
    }

    @Test
    void emptyRecord() {
        assertEquals("empty record", reason(null));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "\"nul\\u0000id\"     | vehicle_id: " + REFUSED,
                "\"ctl\\u0001\"       | vehicle_id: " + REFUSED,
                "\"new\\nline\"       | vehicle_id: " + REFUSED,
                "\"tab\\tid\"         | vehicle_id: " + REFUSED,
                "\"del\\u007f\"       | vehicle_id: " + REFUSED,
                "\"bidi\\u202e\"      | vehicle_id: " + REFUSED,
                "\"zw\\u200bj\"       | vehicle_id: " + REFUSED,
                "\"nbsp\\u00a0x\"     | vehicle_id: " + REFUSED,
                "\"ls\\u2028\"        | vehicle_id: " + REFUSED,
                "\"pua\\ue000\"       | vehicle_id: " + REFUSED,
                "\"unassigned\\u0378\" | vehicle_id: " + REFUSED,
                "\"fffd\\ufffd\"      | vehicle_id: " + REFUSED,
                "\"lone\\ud800\"      | invalid Unicode: lone surrogate escape",
                "\"lone\\udc00x\"     | invalid Unicode: lone surrogate escape",
                "\"swapped\\udc00\\ud800\" | invalid Unicode: lone surrogate escape",
                "\"slash\\\\ud800\"   | invalid Unicode: lone surrogate escape",
                "\"   \"              | vehicle_id: must not be empty",
                "\"\"                 | vehicle_id: must not be empty",
                "\"a//b\"             | vehicle_id: empty part between /",
                "\"a/ /b\"            | vehicle_id: empty part between /",
                "\"/a\"               | vehicle_id: empty part between /",
                "\"a/\"               | vehicle_id: empty part between /",
                "null                 | vehicle_id: missing",
                "{\"id\": \"v\"}      | vehicle_id: missing",
                "[\"v\"]              | vehicle_id: missing",
            })
    void vehicleIds(String idJson, String expected) {
        assertEquals(expected, reason("{\"vehicle_id\": " + idJson + ", \"ts\": " + TS + ", \"lon\": 0, \"lat\": 0}"));
    }

    @Test
    void vehicleIdsThatAreKept() {
        // A surrogate pair escaped in JSON, letters beyond ASCII, an OwnTracks id, spaces trimmed (only U+0020).
        assertEquals("truck-\uD83D\uDE9A-\u00e9", idOf("\"truck-\\ud83d\\ude9a-\u00e9\""));
        assertEquals("jane/phone", idOf("\"  jane/phone \""));
        // Scalars of other JSON types are taken as JSON_VALUE's text.
        assertEquals("123", idOf("123"));
        assertEquals("1.50", idOf("1.50"));
        assertEquals("1E+3", idOf("1e3"));
        assertEquals("true", idOf("true"));
    }

    static String idOf(String idJson) {
        CheckedLocation c = check("{\"vehicle_id\": " + idJson + ", \"ts\": " + TS + ", \"lon\": 0, \"lat\": 0}");
        assertNull(c.reason, c.toString());
        return c.vehicleId;
    }

    @Test
    void maxLengthsCountCodePoints() {
        String emoji = "\uD83D\uDE9A"; // one code point, two UTF-16 units
        assertNull(reason("{\"vehicle_id\": \"" + emoji.repeat(128) + "\", \"ts\": " + TS + ", \"lon\": 0, \"lat\": 0}"));
        assertEquals(
                "vehicle_id: longer than 128 characters",
                reason("{\"vehicle_id\": \"" + "x".repeat(129) + "\", \"ts\": " + TS + ", \"lon\": 0, \"lat\": 0}"));
        assertNull(reason(record(", \"source\": \"" + emoji.repeat(64) + "\"")));
        assertEquals("source: longer than 64 characters", reason(record(", \"source\": \"" + "s".repeat(65) + "\"")));
        assertEquals("source: " + REFUSED, reason(record(", \"source\": \"sim\\u0000\"")));
        assertEquals("", check(record(", \"source\": \"\"")).source);
    }

    @Test
    void theFirstProblemInTheViewsOrderIsReported() {
        // The id is checked before the time, the time before the coordinates, the source last.
        assertEquals("vehicle_id: missing", reason("{\"ts\": \"x\", \"lon\": 999}"));
        assertEquals("ts: missing", reason("{\"vehicle_id\": \"v\", \"lon\": 999}"));
        assertEquals("lon: outside [-180, 180]", reason(record(", \"lon\": 999, \"source\": \"" + "s".repeat(99) + "\"")));
        // A lone surrogate anywhere in the text comes before JSON validity.
        assertEquals("invalid Unicode: lone surrogate escape", reason("{\"x\": \"\\ud800\", broken"));
    }

    @Test
    void duplicateKeysTheLastOneWinsWhateverItsType() {
        CheckedLocation c = check(record(", \"lon\": 3.5, \"speed\": 1, \"speed\": 2"));
        assertEquals(3.5, c.lon);
        assertEquals(2.0, c.optional[0]);
        assertEquals("lon: missing", reason(record(", \"lon\": null")));
        assertEquals("lon: missing", reason(record(", \"lon\": {\"x\": 1}")));
        assertEquals("v2", check(record(", \"vehicle_id\": \"v2\"")).vehicleId);
    }

    @Test
    void unusableOptionalValuesAreDroppedAndThePointKept() {
        CheckedLocation c =
                check(record(", \"speed\": -3, \"heading\": \"north\", \"alt\": -1e6, \"accuracy\": 1e400,"
                        + " \"battery\": \"Infinity\""));
        assertNull(c.reason, c.toString());
        assertArrayEquals(new Double[5], c.optional);
        CheckedLocation edges =
                check(record(", \"speed\": 1500, \"heading\": 0, \"alt\": -12000, \"accuracy\": [1],"
                        + " \"battery\": true"));
        assertArrayEquals(new Double[] {1500.0, 0.0, -12000.0, null, null}, edges.optional);
    }

    /** The per-character test is the Java regex the SQL view used, code point by code point. */
    @Test
    void refusedCharactersMatchTheViewsRegex() {
        Pattern refused = Pattern.compile("[\\p{Cc}\\p{Cf}\\p{Cs}\\p{Co}\\p{Cn}\\p{Zl}\\p{Zp}\\x{FFFD}]|[\\p{Zs}&&[^ ]]");
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            String s = new String(Character.toChars(cp));
            assertEquals(refused.matcher(s).find(), LocationCheck.hasRefusedCharacter(s), "U+" + Integer.toHexString(cp));
        }
    }

    @Test
    void emptyIdPartsMatchTheViewsRegex() {
        Pattern emptyPart = Pattern.compile("(^|/) *(/|$)");
        for (String id : new String[] {"a", "a/b", "a//b", "/", "a/ ", " /a", "a/ b", "a / b", "a/b/", "x y"}) {
            assertEquals(emptyPart.matcher(id).find(), LocationCheck.hasEmptyIdPart(id), id);
        }
    }

    @Test
    void rulesMustBeComplete() {
        assertThrows(IllegalArgumentException.class, () -> LocationRules.fromJson("{}"));
        assertThrows(IllegalArgumentException.class, () -> LocationRules.fromJson(RULES.replace("\"battery\"", "\"fuel\"")));
        assertThrows(IllegalArgumentException.class, () -> LocationRules.fromJson(RULES.replace("\"source_max_len\"", "\"src\"")));
        assertThrows(IllegalArgumentException.class, () -> LocationRules.fromJson("not json"));
        LocationRules open = LocationRules.fromJson(RULES.replace("[0.0, 1500.0]", "[0.0, null]"));
        assertEquals(2e9, new LocationCheck(open).check(record(", \"speed\": 2e9"), NOW).optional[0]);
    }

    @Test
    void theFunctionReturnsOneRowOfTheDeclaredShape() {
        ParseLocation function = new ParseLocation(RULES);
        long now = System.currentTimeMillis();
        RowData valid =
                function.eval("{\"vehicle_id\": \"v\", \"ts\": " + now + ", \"lon\": 1, \"lat\": 2, \"battery\": 50,"
                        + " \"source\": \"s\"}");
        assertTrue(valid.isNullAt(0));
        assertEquals("v", valid.getString(1).toString());
        assertEquals(now, valid.getLong(2));
        assertEquals(1.0, valid.getDouble(3));
        assertEquals(2.0, valid.getDouble(4));
        assertTrue(valid.isNullAt(5));
        assertEquals(50.0, valid.getDouble(9));
        assertEquals("s", valid.getString(10).toString());
        RowData rejected = function.eval("nope");
        assertEquals("not a JSON object", rejected.getString(0).toString());
        for (int i = 1; i < rejected.getArity(); i++) {
            assertTrue(rejected.isNullAt(i));
        }
    }
}

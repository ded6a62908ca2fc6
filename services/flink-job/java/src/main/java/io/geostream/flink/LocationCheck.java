package io.geostream.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses a locations record once, with a streaming JSON parser, and validates and normalises it: the
 * rules and DLQ reasons that the job's SQL view applied with seven JSON_VALUE calls (pure logic, no I/O).
 *
 * <p>Field values are read as JSON_VALUE read them, then converted as TRY_CAST did: a scalar of any JSON
 * type is taken as its text (a number's text as Jackson's BigDecimal/BigInteger gives it, {@code true}
 * as "true"); {@code null}, an object or an array count as absent; a number given as a string is parsed
 * with {@link Double#parseDouble} (which trims spaces and takes "NaN", "Infinity", "1e400"). A key given
 * twice: the last one wins, whatever its type, as in JSON_VALUE's map. The whole text must be one JSON
 * object (Flink's default Jackson settings: no comments, no NaN literals, no unescaped control
 * characters), with nothing but whitespace after it.
 */
public final class LocationCheck implements Serializable {
    private static final long serialVersionUID = 1L;

    private static final JsonFactory JSON = new JsonFactory();

    /** Latest instant both TO_TIMESTAMP_LTZ and PostgreSQL take: 9999-12-31T23:59:59.999Z. */
    static final long MAX_SANE_TS_MS = 253_402_300_799_999L;

    // ISO 8601 / RFC 3339 date-times such as 2024-05-01T12:00:00.5+02:00; without an offset: UTC.
    private static final Pattern ISO =
            Pattern.compile(
                    "(\\d{4})-(\\d{2})-(\\d{2})[T ](\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d+))?"
                            + "([Zz]|([+-])(\\d{2})(?::?(\\d{2}))?)?");

    /**
     * A JSON escape of half a surrogate pair without its other half ("\ud800"), looked for in the raw
     * text: decoded, Flink's UTF-8 strings would silently turn it into "?". (A literal backslash followed
     * by "ud800", written "\\ud800", is refused too: no real id has one.)
     */
    static final Pattern LONE_SURROGATE_ESCAPE =
            Pattern.compile(
                    "\\\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                            + "|(?<!\\\\u[dD][89abAB][0-9a-fA-F]{2})\\\\u[dD][c-fC-F][0-9a-fA-F]{2}");

    static final String REFUSED_REASON = "control, invisible or invalid Unicode character";

    private static final int ID = 0;
    private static final int TS = 1;
    private static final int LON = 2;
    private static final int LAT = 3;

    private final LocationRules rules;
    /** JSON key -> slot; slots of KEYED_FIELDS[i] are firstSlot[i] .. firstSlot[i + 1] - 1, in preference order. */
    private final Map<String, Integer> slotOfKey = new HashMap<>();

    private final int[] firstSlot;
    private final int optionalSlot;
    private final int sourceSlot;
    private final int slotCount;

    public LocationCheck(LocationRules rules) {
        this.rules = rules;
        firstSlot = new int[LocationRules.KEYED_FIELDS.length + 1];
        int slot = 0;
        for (int i = 0; i < LocationRules.KEYED_FIELDS.length; i++) {
            firstSlot[i] = slot;
            for (String key : rules.keys[i]) {
                addKey(key, slot++);
            }
        }
        firstSlot[LocationRules.KEYED_FIELDS.length] = slot;
        optionalSlot = slot;
        for (String name : LocationRules.OPTIONAL_FIELDS) {
            addKey(name, slot++);
        }
        sourceSlot = slot;
        addKey("source", slot++);
        slotCount = slot;
    }

    private void addKey(String key, int slot) {
        if (slotOfKey.putIfAbsent(key, slot) != null) {
            throw new IllegalArgumentException("location rules: key " + key + " is used twice");
        }
    }

    /** The record's outcome at wall-clock time {@code nowMs} (epoch ms). */
    public CheckedLocation check(String raw, long nowMs) {
        if (raw == null) {
            return CheckedLocation.rejected("empty record");
        }
        if (raw.contains("\\u") && LONE_SURROGATE_ESCAPE.matcher(raw).find()) {
            return CheckedLocation.rejected("invalid Unicode: lone surrogate escape");
        }
        String[] text = new String[slotCount];
        boolean[] number = new boolean[slotCount];
        if (!readObject(raw, text, number)) {
            return CheckedLocation.rejected("not a JSON object");
        }

        int idSlot = firstPresent(ID, text);
        if (idSlot < 0) {
            return CheckedLocation.rejected("vehicle_id: missing");
        }
        String vehicleId = trimSpaces(asJsonValueText(text[idSlot], number[idSlot]));
        if (vehicleId.isEmpty()) {
            return CheckedLocation.rejected("vehicle_id: must not be empty");
        }
        if (vehicleId.codePointCount(0, vehicleId.length()) > rules.vehicleIdMaxLen) {
            return CheckedLocation.rejected("vehicle_id: longer than " + rules.vehicleIdMaxLen + " characters");
        }
        if (hasRefusedCharacter(vehicleId)) {
            return CheckedLocation.rejected("vehicle_id: " + REFUSED_REASON);
        }
        if (hasEmptyIdPart(vehicleId)) {
            return CheckedLocation.rejected("vehicle_id: empty part between /");
        }

        int tsSlot = firstPresent(TS, text);
        if (tsSlot < 0) {
            return CheckedLocation.rejected("ts: missing");
        }
        Long tsMs = toEpochMs(text[tsSlot], number[tsSlot]);
        if (tsMs == null) {
            return CheckedLocation.rejected("ts: not an epoch number or ISO 8601 date-time");
        }
        if (tsMs < rules.minEventTimeMs) {
            return CheckedLocation.rejected(rules.tsBeforeReason);
        }
        if (tsMs > MAX_SANE_TS_MS || tsMs > nowMs + rules.maxFutureMs) {
            return CheckedLocation.rejected(rules.tsFutureReason);
        }

        int lonSlot = firstPresent(LON, text);
        if (lonSlot < 0) {
            return CheckedLocation.rejected("lon: missing");
        }
        int latSlot = firstPresent(LAT, text);
        if (latSlot < 0) {
            return CheckedLocation.rejected("lat: missing");
        }
        double lon = toDouble(text[lonSlot]);
        if (!Double.isFinite(lon)) {
            return CheckedLocation.rejected("lon: not a finite number");
        }
        double lat = toDouble(text[latSlot]);
        if (!Double.isFinite(lat)) {
            return CheckedLocation.rejected("lat: not a finite number");
        }
        if (lon < -180 || lon > 180) {
            return CheckedLocation.rejected("lon: outside [-180, 180]");
        }
        if (lat < -90 || lat > 90) {
            return CheckedLocation.rejected("lat: outside [-90, 90]");
        }

        String source = text[sourceSlot] == null ? null : asJsonValueText(text[sourceSlot], number[sourceSlot]);
        if (source != null) {
            if (source.codePointCount(0, source.length()) > rules.sourceMaxLen) {
                return CheckedLocation.rejected("source: longer than " + rules.sourceMaxLen + " characters");
            }
            if (hasRefusedCharacter(source)) {
                return CheckedLocation.rejected("source: " + REFUSED_REASON);
            }
        }

        // Lenient: an unusable optional value (absurd, not finite, not a number) is dropped, the point kept.
        Double[] optional = new Double[LocationRules.OPTIONAL_FIELDS.length];
        for (int i = 0; i < optional.length; i++) {
            String value = text[optionalSlot + i];
            if (value != null) {
                double d = toDouble(value);
                if (d >= rules.optionalLow[i] && d <= rules.optionalHigh[i] && Double.isFinite(d)) {
                    optional[i] = d;
                }
            }
        }
        return CheckedLocation.valid(vehicleId, tsMs, lon, lat, optional, source);
    }

    /**
     * Reads the one JSON object of {@code raw}: the text of each known key's scalar value into its slot
     * (null for JSON null, an object or an array), and whether it was a number. False unless the whole
     * text is a well-formed JSON object.
     */
    private boolean readObject(String raw, String[] text, boolean[] number) {
        try (JsonParser parser = JSON.createParser(raw)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                Integer slot = slotOfKey.get(parser.currentName());
                JsonToken value = parser.nextToken();
                if (slot == null) {
                    parser.skipChildren(); // still tokenised, so a malformed member fails the record
                    continue;
                }
                switch (value) {
                    case VALUE_STRING:
                    case VALUE_TRUE:
                    case VALUE_FALSE:
                        text[slot] = parser.getText();
                        number[slot] = false;
                        break;
                    case VALUE_NUMBER_INT:
                    case VALUE_NUMBER_FLOAT:
                        text[slot] = parser.getText();
                        number[slot] = true;
                        break;
                    default: // null, object, array: absent, as JSON_VALUE returns NULL for them
                        text[slot] = null;
                        parser.skipChildren();
                }
            }
            return token == JsonToken.END_OBJECT && parser.nextToken() == null;
        } catch (IOException e) { // JsonParseException and Jackson's read constraints
            return false;
        }
    }

    private int firstPresent(int field, String[] text) {
        for (int slot = firstSlot[field]; slot < firstSlot[field + 1]; slot++) {
            if (text[slot] != null) {
                return slot;
            }
        }
        return -1;
    }

    /** A number token's text as JSON_VALUE returns it (Jackson's BigInteger / BigDecimal toString). */
    static String asJsonValueText(String text, boolean isNumber) {
        if (!isNumber) {
            return text;
        }
        boolean integral = text.indexOf('.') < 0 && text.indexOf('e') < 0 && text.indexOf('E') < 0;
        return integral ? new BigInteger(text).toString() : new BigDecimal(text).toString();
    }

    /** TRY_CAST(text AS DOUBLE): NaN when it is no number (NaN fails every later check, as NULL did). */
    static double toDouble(String text) {
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /**
     * An epoch number in s, ms, us or ns (unit told by magnitude: s < 1e11 <= ms < 1e14 <= us < 1e17 <=
     * ns, as geostream.timestamps), a numeric string, or an ISO 8601 date-time, in epoch ms; null if none.
     */
    static Long toEpochMs(String text, boolean isNumber) {
        if (!isNumber) {
            // A text of ISO shape never parses as a double (it has a '-' after four digits): try it first
            // and spare the exception.
            Long iso = isoToMs(text);
            if (iso != null) {
                return iso;
            }
        }
        double t = toDouble(text);
        if (!Double.isFinite(t)) {
            return null;
        }
        double abs = Math.abs(t);
        double factor = abs < 1e11 ? 1e3 : abs < 1e14 ? 1.0 : abs < 1e17 ? 1e-3 : 1e-6;
        return Math.round(t * factor); // saturates at Long.MAX_VALUE: "in the future"
    }

    /** ISO 8601 date-time -> epoch ms; without an offset UTC; null unless a valid calendar date and time. */
    static Long isoToMs(String text) {
        if (text.length() < 19 || text.charAt(4) != '-') {
            return null;
        }
        Matcher m = ISO.matcher(text);
        if (!m.matches()) {
            return null;
        }
        try {
            LocalDateTime local =
                    LocalDateTime.of(
                            Integer.parseInt(m.group(1)),
                            Integer.parseInt(m.group(2)),
                            Integer.parseInt(m.group(3)),
                            Integer.parseInt(m.group(4)),
                            Integer.parseInt(m.group(5)),
                            Integer.parseInt(m.group(6)));
            ZoneOffset offset = ZoneOffset.UTC;
            if (m.group(9) != null) {
                int sign = m.group(9).equals("-") ? -1 : 1;
                int minutes = m.group(11) == null ? 0 : Integer.parseInt(m.group(11));
                offset = ZoneOffset.ofHoursMinutes(sign * Integer.parseInt(m.group(10)), sign * minutes);
            }
            long millis = m.group(7) == null ? 0 : Math.round(Double.parseDouble("0." + m.group(7)) * 1000);
            return local.toEpochSecond(offset) * 1000 + millis;
        } catch (DateTimeException e) { // 2024-02-30, 24:00:00, an offset beyond 18 h
            return null;
        }
    }

    /** Flink's TRIM: spaces (U+0020) only. */
    static String trimSpaces(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && s.charAt(start) == ' ') {
            start++;
        }
        while (end > start && s.charAt(end - 1) == ' ') {
            end--;
        }
        return s.substring(start, end);
    }

    /**
     * Whether {@code s} holds a character that no id or text may hold, as geostream.identity refuses
     * them at the edge: control (NUL, which PostgreSQL refuses in text and which failed whole JDBC
     * batches), invisible format, surrogate, private-use and unassigned code points, line/paragraph
     * separators, spaces other than U+0020, and U+FFFD (where the record's bytes were not UTF-8).
     */
    static boolean hasRefusedCharacter(String s) {
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp >= 0x20 && cp < 0x7f) {
                continue;
            }
            if (cp == 0xFFFD) {
                return true;
            }
            switch (Character.getType(cp)) {
                case Character.CONTROL:
                case Character.FORMAT:
                case Character.SURROGATE:
                case Character.PRIVATE_USE:
                case Character.UNASSIGNED:
                case Character.LINE_SEPARATOR:
                case Character.PARAGRAPH_SEPARATOR:
                case Character.SPACE_SEPARATOR: // U+0020 was let through above
                    return true;
                default:
            }
        }
        return false;
    }

    /** An OwnTracks-style id ("user/device") with a part that is empty or only spaces. */
    static boolean hasEmptyIdPart(String id) {
        int start = 0;
        while (true) {
            int slash = id.indexOf('/', start);
            int end = slash < 0 ? id.length() : slash;
            boolean blank = true;
            for (int i = start; i < end && blank; i++) {
                blank = id.charAt(i) == ' ';
            }
            if (blank) {
                return true;
            }
            if (slash < 0) {
                return false;
            }
            start = slash + 1;
        }
    }
}

package io.geostream.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * What a locations record must satisfy, as the job's Python driver passes it in (from the shared
 * geostream package and locations_job.py), so the Python edges and the job read one set of constants.
 *
 * <p>The JSON text has: {@code keys} (each output field's accepted keys, first wins), {@code
 * optional_ranges} ({@code [low, high]}, {@code null} for an open end), {@code min_event_time_ms},
 * {@code max_future_ms}, {@code vehicle_id_max_len}, {@code source_max_len}, and the two time reasons
 * {@code ts_before_reason} and {@code ts_future_reason}. Anything missing or unknown fails the job at
 * submission rather than letting the two sides drift.
 */
public final class LocationRules implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Output fields read from one of several keys, in this order. */
    static final String[] KEYED_FIELDS = {"vehicle_id", "ts", "lon", "lat"};
    /** Optional numbers, in the order of the result row. */
    static final String[] OPTIONAL_FIELDS = {"speed", "heading", "alt", "accuracy", "battery"};

    /** keys[i]: the JSON keys accepted for KEYED_FIELDS[i], in order of preference. */
    final String[][] keys;

    final double[] optionalLow;
    final double[] optionalHigh;
    final long minEventTimeMs;
    final long maxFutureMs;
    final int vehicleIdMaxLen;
    final int sourceMaxLen;
    final String tsBeforeReason;
    final String tsFutureReason;

    private LocationRules(JsonNode root) {
        JsonNode keysNode = required(root, "keys");
        keys = new String[KEYED_FIELDS.length][];
        for (int i = 0; i < KEYED_FIELDS.length; i++) {
            JsonNode list = required(keysNode, KEYED_FIELDS[i]);
            if (!list.isArray() || list.isEmpty()) {
                throw new IllegalArgumentException("keys." + KEYED_FIELDS[i] + " must be a list of keys");
            }
            List<String> names = new ArrayList<>();
            list.forEach(k -> names.add(k.asText()));
            keys[i] = names.toArray(new String[0]);
        }
        expectExactly(keysNode, KEYED_FIELDS, "keys");

        JsonNode ranges = required(root, "optional_ranges");
        expectExactly(ranges, OPTIONAL_FIELDS, "optional_ranges");
        optionalLow = new double[OPTIONAL_FIELDS.length];
        optionalHigh = new double[OPTIONAL_FIELDS.length];
        for (int i = 0; i < OPTIONAL_FIELDS.length; i++) {
            JsonNode range = required(ranges, OPTIONAL_FIELDS[i]);
            if (!range.isArray() || range.size() != 2) {
                throw new IllegalArgumentException(
                        "optional_ranges." + OPTIONAL_FIELDS[i] + " must be [low, high]");
            }
            optionalLow[i] = range.get(0).isNull() ? Double.NEGATIVE_INFINITY : range.get(0).asDouble();
            optionalHigh[i] = range.get(1).isNull() ? Double.POSITIVE_INFINITY : range.get(1).asDouble();
        }
        minEventTimeMs = required(root, "min_event_time_ms").asLong();
        maxFutureMs = required(root, "max_future_ms").asLong();
        vehicleIdMaxLen = required(root, "vehicle_id_max_len").asInt();
        sourceMaxLen = required(root, "source_max_len").asInt();
        tsBeforeReason = required(root, "ts_before_reason").asText();
        tsFutureReason = required(root, "ts_future_reason").asText();
        expectExactly(
                root,
                new String[] {
                    "keys", "optional_ranges", "min_event_time_ms", "max_future_ms",
                    "vehicle_id_max_len", "source_max_len", "ts_before_reason", "ts_future_reason"
                },
                "rules");
    }

    public static LocationRules fromJson(String json) {
        try {
            return new LocationRules(new ObjectMapper().readTree(json));
        } catch (IOException e) {
            throw new IllegalArgumentException("location rules are not JSON: " + e.getMessage(), e);
        }
    }

    private static JsonNode required(JsonNode node, String name) {
        JsonNode value = node.get(name);
        if (value == null || value.isMissingNode()) {
            throw new IllegalArgumentException("location rules: missing " + name);
        }
        return value;
    }

    private static void expectExactly(JsonNode node, String[] names, String where) {
        List<String> allowed = Arrays.asList(names);
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!allowed.contains(name)) {
                throw new IllegalArgumentException(
                        "location rules: unknown " + where + " entry " + name + " (allowed: " + allowed + ")");
            }
        }
    }
}

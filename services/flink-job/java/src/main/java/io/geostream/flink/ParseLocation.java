package io.geostream.flink;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code PARSE_LOCATION(raw)}: a locations record, parsed once, as one row: {@code reason} (null for a
 * valid point, else the DLQ reason) and the normalised point. The rules come in through the constructor
 * (JSON, see {@link LocationRules}); the job's Python driver builds them from the geostream package.
 *
 * <p>Not deterministic (it reads the wall clock for the future-skew check): the planner must neither
 * fold it nor copy the call into each consumer of its fields.
 */
public final class ParseLocation extends ScalarFunction {
    private static final long serialVersionUID = 1L;

    public static final String RESULT_TYPE =
            "ROW<reason STRING, vehicle_id STRING, ts_ms BIGINT, lon DOUBLE, lat DOUBLE, speed DOUBLE, "
                    + "heading DOUBLE, alt DOUBLE, accuracy DOUBLE, battery DOUBLE, source STRING>";

    private final LocationCheck check;

    public ParseLocation(String rulesJson) {
        this.check = new LocationCheck(LocationRules.fromJson(rulesJson));
    }

    @DataTypeHint(value = RESULT_TYPE, bridgedTo = RowData.class)
    public RowData eval(String raw) {
        return toRow(check.check(raw, System.currentTimeMillis()));
    }

    static RowData toRow(CheckedLocation c) {
        GenericRowData row = new GenericRowData(11);
        row.setField(0, string(c.reason));
        row.setField(1, string(c.vehicleId));
        row.setField(2, c.tsMs);
        row.setField(3, c.lon);
        row.setField(4, c.lat);
        for (int i = 0; i < c.optional.length; i++) {
            row.setField(5 + i, c.optional[i]);
        }
        row.setField(10, string(c.source));
        return row;
    }

    private static StringData string(String s) {
        return s == null ? null : StringData.fromString(s);
    }

    @Override
    public boolean isDeterministic() {
        return false;
    }
}

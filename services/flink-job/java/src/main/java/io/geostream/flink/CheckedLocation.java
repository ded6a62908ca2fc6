package io.geostream.flink;

/** The outcome for one record: a valid, normalised point ({@code reason == null}) or why it is refused. */
public final class CheckedLocation {
    /** Null for a valid point; otherwise the DLQ reason and every other field null. */
    public final String reason;

    public final String vehicleId;
    public final Long tsMs;
    public final Double lon;
    public final Double lat;
    /** speed, heading, alt, accuracy, battery (LocationRules.OPTIONAL_FIELDS); null when absent or unusable. */
    public final Double[] optional;

    public final String source;

    private CheckedLocation(
            String reason, String vehicleId, Long tsMs, Double lon, Double lat, Double[] optional, String source) {
        this.reason = reason;
        this.vehicleId = vehicleId;
        this.tsMs = tsMs;
        this.lon = lon;
        this.lat = lat;
        this.optional = optional;
        this.source = source;
    }

    static CheckedLocation rejected(String reason) {
        return new CheckedLocation(reason, null, null, null, null, new Double[LocationRules.OPTIONAL_FIELDS.length], null);
    }

    static CheckedLocation valid(
            String vehicleId, long tsMs, double lon, double lat, Double[] optional, String source) {
        return new CheckedLocation(null, vehicleId, tsMs, lon, lat, optional, source);
    }

    @Override
    public String toString() {
        return reason != null
                ? "rejected(" + reason + ")"
                : "valid(" + vehicleId + ", " + tsMs + ", " + lon + ", " + lat + ", "
                        + java.util.Arrays.toString(optional) + ", " + source + ")";
    }
}

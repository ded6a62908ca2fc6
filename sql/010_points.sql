-- Raw instants: one row per (vehicle, event time). The Flink JDBC sink upserts here
--   INSERT ... ON CONFLICT (vehicle_id, ts) DO UPDATE SET ...
-- so a replayed or duplicated record overwrites its own row instead of adding one.
-- No CHECK constraints on purpose: a bad value must never make the writer's batch fail. Positions
-- outside [-180, 180] x [-90, 90] (or NULL/NaN) are kept here but left out of trajectories.
CREATE TABLE IF NOT EXISTS vehicle_points (
    vehicle_id text NOT NULL,
    ts timestamptz NOT NULL,
    lon float8,
    lat float8,
    speed float8,
    heading float8,
    alt float8,
    accuracy float8,
    battery float8,
    source text,
    PRIMARY KEY (vehicle_id, ts)
);

COMMENT ON TABLE vehicle_points IS
    'Raw vehicle positions (locations_topic), keyed by (vehicle_id, ts); '
    'trajectories are derived from it by triggers.';

-- Rows arrive roughly in time order: a BRIN index serves time-range scans and retention deletes
-- (DELETE ... WHERE ts < ...) at almost no insert cost.
CREATE INDEX IF NOT EXISTS vehicle_points_ts_brin ON vehicle_points USING brin (ts);

CREATE OR REPLACE FUNCTION geostream_valid_position(lon float8, lat float8)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90, false);

COMMENT ON FUNCTION geostream_valid_position(float8, float8) IS
    'True for a usable WGS 84 position (NULL, NaN and out-of-range values are not).';

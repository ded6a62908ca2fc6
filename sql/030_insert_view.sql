-- The prototype's write path, kept for third-party writers: its Flink job inserted
-- (vehicle_id, timestamp_ms, tgeogpoint) rows into this view. Each instant of the tgeogpoint becomes
-- an upserted vehicle_points row (source NULL). For a single instant, timestamp_ms (when given) is the
-- event time, as in the prototype; the instants of a sequence keep their own times.
-- New writers should upsert into vehicle_points directly: the view goes row by row, so every row
-- is its own statement for the trajectory triggers.
CREATE OR REPLACE VIEW vehicle_locations_temporal_insert_view AS
SELECT
    p.vehicle_id,
    (extract(epoch FROM p.ts) * 1000)::bigint AS timestamp_ms,
    tgeogpoint(ST_Point(p.lon, p.lat, 4326)::geography, p.ts) AS tgeogpoint
FROM vehicle_points p
WHERE geostream_valid_position(p.lon, p.lat);

CREATE OR REPLACE FUNCTION geostream_insert_view_row()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.vehicle_id IS NULL OR NEW.tgeogpoint IS NULL THEN
        RAISE WARNING 'vehicle_locations_temporal_insert_view: row without vehicle_id or tgeogpoint ignored';
        RETURN NULL;
    END IF;
    INSERT INTO vehicle_points (vehicle_id, ts, lon, lat)
    SELECT DISTINCT ON (x.ts) NEW.vehicle_id, x.ts, x.lon, x.lat
    FROM (
        SELECT
            CASE
                WHEN NEW.timestamp_ms IS NOT NULL AND numInstants(NEW.tgeogpoint) = 1
                    THEN timestamptz 'epoch' + NEW.timestamp_ms * interval '1 millisecond'
                ELSE getTimestamp(i.inst)
            END AS ts,
            ST_X(getValue(i.inst)::geometry) AS lon,
            ST_Y(getValue(i.inst)::geometry) AS lat
        FROM unnest(instants(NEW.tgeogpoint)) AS i(inst)
    ) AS x
    ORDER BY x.ts
    ON CONFLICT (vehicle_id, ts) DO UPDATE SET lon = excluded.lon, lat = excluded.lat
        WHERE (vehicle_points.lon, vehicle_points.lat) IS DISTINCT FROM (excluded.lon, excluded.lat);
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER vehicle_locations_temporal_insert_view_insert
    INSTEAD OF INSERT ON vehicle_locations_temporal_insert_view
    FOR EACH ROW EXECUTE FUNCTION geostream_insert_view_row();

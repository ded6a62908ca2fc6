-- Query functions for the trips-api and ad-hoc use. Times are timestamptz; areas are geometries in
-- lon/lat (SRID 4326; SRID 0 is taken as 4326) and are tested in the lon/lat plane, like a map bbox.
-- A "trip" is one sequence of a trajectory: a run of points without a silence above max_gap.

-- Latest valid position of every vehicle: vehicle_state, except for vehicles with changes the
-- segmenter has not processed yet at or after that position (or no state yet): their newest stored
-- point, found from vehicle_state's time on (so only the newest partitions are searched). A point is
-- here as soon as it commits. (A deleted latest point stays until the segmenter's next round.)
CREATE OR REPLACE VIEW vehicle_latest_positions AS
WITH pending AS (
    SELECT d.vehicle_id, max(d.max_ts) AS max_ts FROM trajectory_dirty d GROUP BY d.vehicle_id
)
SELECT s.vehicle_id, s.ts, s.lon, s.lat, s.speed, s.heading
FROM vehicle_state s
WHERE s.ts IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.vehicle_id = s.vehicle_id AND p.max_ts >= s.ts)
UNION ALL
SELECT p.vehicle_id, coalesce(q.ts, s.ts), coalesce(q.lon, s.lon), coalesce(q.lat, s.lat),
       CASE WHEN q.ts IS NULL THEN s.speed ELSE q.speed END,
       CASE WHEN q.ts IS NULL THEN s.heading ELSE q.heading END
FROM pending p
LEFT JOIN vehicle_state s ON s.vehicle_id = p.vehicle_id
LEFT JOIN LATERAL (
    SELECT v.ts, v.lon, v.lat, v.speed, v.heading
    FROM vehicle_points v
    WHERE v.vehicle_id = p.vehicle_id AND v.ts >= coalesce(s.ts, '-infinity')
        AND geostream_valid_position(v.lon, v.lat)
    ORDER BY v.ts DESC
    LIMIT 1
) AS q ON true
WHERE (s.ts IS NULL OR p.max_ts >= s.ts) AND coalesce(q.ts, s.ts) IS NOT NULL;

CREATE OR REPLACE FUNCTION geostream_area_4326(p_area geometry)
RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE ST_SRID(p_area)
    WHEN 4326 THEN p_area
    WHEN 0 THEN ST_SetSRID(p_area, 4326)
    ELSE ST_Transform(p_area, 4326)
END;

-- Latest position per vehicle, optionally only inside an area and/or not older than p_since.
CREATE OR REPLACE FUNCTION latest_positions(p_area geometry DEFAULT NULL, p_since timestamptz DEFAULT NULL)
RETURNS TABLE (vehicle_id text, ts timestamptz, lon float8, lat float8, speed float8, heading float8)
LANGUAGE sql STABLE
AS $$
    SELECT s.vehicle_id, s.ts, s.lon, s.lat, s.speed, s.heading
    FROM vehicle_latest_positions s
    WHERE (p_since IS NULL OR s.ts >= p_since)
        AND (p_area IS NULL OR ST_Intersects(geostream_area_4326(p_area), ST_Point(s.lon, s.lat, 4326)))
    ORDER BY s.vehicle_id
$$;

-- A vehicle's trajectory between two times (bounds included): a tgeogpoint sequence set, or NULL.
-- Stored segments, except for the buckets the segmenter has not rebuilt yet (still in
-- trajectory_dirty) and the open bucket: those are built from the stored instants.
CREATE OR REPLACE FUNCTION vehicle_trajectory(
    p_vehicle text, p_start timestamptz DEFAULT '-infinity', p_end timestamptz DEFAULT 'infinity'
)
RETURNS tgeogpoint
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_width interval;
    v_gap interval;
    v_pending timestamptz[];
    v_result tgeogpoint;
BEGIN
    IF p_vehicle IS NULL OR p_start IS NULL OR p_end IS NULL OR p_start > p_end THEN
        RETURN NULL;
    END IF;
    SELECT bucket_width, max_gap INTO v_width, v_gap FROM trajectory_settings WHERE id;
    v_pending := ARRAY(
        SELECT d.bucket FROM trajectory_dirty d
        WHERE d.vehicle_id = p_vehicle AND d.bucket > p_start - v_width AND d.bucket <= p_end + v_gap
        UNION
        SELECT st.open_bucket FROM vehicle_state st
        WHERE st.vehicle_id = p_vehicle AND st.open_bucket > p_start - v_width AND st.open_bucket <= p_end + v_gap
    );
    BEGIN
        SELECT merge(array_agg(t.traj ORDER BY t.bucket)) INTO v_result
        FROM (
            SELECT s.bucket, s.trajectory AS traj
            FROM vehicle_trajectory_segments s
            WHERE s.vehicle_id = p_vehicle AND s.bucket > p_start - v_width AND s.bucket <= p_end + v_gap
                AND s.bucket <> ALL (v_pending)
            UNION ALL
            SELECT b.bucket, b.trajectory
            FROM geostream_build_segments(array_fill(p_vehicle, ARRAY[cardinality(v_pending)]), v_pending) AS b
        ) AS t;
    EXCEPTION WHEN OTHERS THEN
        -- Segments that do not join (never expected): the stored instants are the truth.
        v_result := geostream_build_range(p_vehicle, p_start - v_gap, p_end + v_gap, v_gap);
    END;
    IF v_result IS NULL THEN
        RETURN NULL;
    END IF;
    -- Always a sequence set (also for one sequence or instant): one shape for every consumer.
    RETURN tgeogpointSeqSet(atTime(v_result, span(p_start, p_end, true, true)));
END
$$;

CREATE OR REPLACE FUNCTION vehicle_trajectory_mfjson(
    p_vehicle text, p_start timestamptz DEFAULT '-infinity', p_end timestamptz DEFAULT 'infinity'
)
RETURNS json
LANGUAGE sql STABLE
RETURN asMFJSON(vehicle_trajectory(p_vehicle, p_start, p_end))::json;

-- deck.gl TripsLayer shape of one trip: path [[lon, lat], ...] and timestamps in epoch ms.
CREATE OR REPLACE FUNCTION geostream_trip_path(p_trip tgeogpoint, OUT path jsonb, OUT timestamps jsonb)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT jsonb_agg(jsonb_build_array(ST_X(x.g), ST_Y(x.g)) ORDER BY x.t),
           jsonb_agg(round(extract(epoch FROM x.t) * 1000)::bigint ORDER BY x.t)
    FROM (
        SELECT getValue(i.inst)::geometry AS g, getTimestamp(i.inst) AS t
        FROM unnest(instants(p_trip)) AS i(inst)
    ) AS x
$$;

-- A vehicle's trips between two times with their statistics: length (m, geodesic on WGS 84),
-- duration, average speed (length / duration) and maximum speed (m/s, between consecutive instants).
CREATE OR REPLACE FUNCTION vehicle_trips(
    p_vehicle text, p_start timestamptz DEFAULT '-infinity', p_end timestamptz DEFAULT 'infinity'
)
RETURNS TABLE (
    vehicle_id text, trip_start timestamptz, trip_end timestamptz, num_instants integer, length_m float8,
    duration interval, avg_speed_mps float8, max_speed_mps float8, trip tgeogpoint
)
LANGUAGE sql STABLE
AS $$
    SELECT p_vehicle, startTimestamp(s.seq), endTimestamp(s.seq), numInstants(s.seq), length(s.seq),
           duration(s.seq),
           CASE WHEN duration(s.seq) > interval '0'
               THEN length(s.seq) / extract(epoch FROM duration(s.seq))::float8 END,
           maxValue(speed(s.seq)),
           s.seq
    FROM unnest(sequences(vehicle_trajectory(p_vehicle, p_start, p_end))) AS s(seq)
    ORDER BY 2
$$;

-- A vehicle's trips between two times in deck.gl TripsLayer shape.
CREATE OR REPLACE FUNCTION vehicle_trajectory_trips(
    p_vehicle text, p_start timestamptz DEFAULT '-infinity', p_end timestamptz DEFAULT 'infinity'
)
RETURNS TABLE (vehicle_id text, trip_start timestamptz, trip_end timestamptz, path jsonb, timestamps jsonb)
LANGUAGE sql STABLE
AS $$
    SELECT p_vehicle, startTimestamp(s.seq), endTimestamp(s.seq), p.path, p.timestamps
    FROM unnest(sequences(vehicle_trajectory(p_vehicle, p_start, p_end))) AS s(seq)
    CROSS JOIN LATERAL geostream_trip_path(s.seq) AS p
    ORDER BY 2
$$;

-- Vehicles that may have been inside the area's bounding box during the window (index prefilter).
CREATE OR REPLACE FUNCTION geostream_area_candidates(p_area geometry, p_start timestamptz, p_end timestamptz)
RETURNS SETOF text
LANGUAGE sql STABLE
AS $$
    SELECT g.vehicle_id
    FROM vehicle_trajectory_segments g
    WHERE g.extent && stbox(p_area, span(p_start, p_end, true, true))
        -- a segment spans [bucket - max_gap (its prefix), bucket + bucket_width): this prunes partitions
        AND g.bucket > p_start - (SELECT s.bucket_width FROM trajectory_settings s WHERE s.id)
        AND g.bucket <= p_end + (SELECT s.max_gap FROM trajectory_settings s WHERE s.id)
    UNION
    SELECT st.vehicle_id
    FROM vehicle_state st
    WHERE st.open_tmax >= p_start AND st.open_tmin <= p_end
        AND st.open_xmax >= ST_XMin(p_area) AND st.open_xmin <= ST_XMax(p_area)
        AND st.open_ymax >= ST_YMin(p_area) AND st.open_ymin <= ST_YMax(p_area)
    UNION
    -- Buckets not rebuilt yet. In the open bucket, the box of the new points joined with the open
    -- bucket's box bounds the trajectory; elsewhere (late or deleted points) only time is checked.
    SELECT d.vehicle_id
    FROM trajectory_dirty d
    CROSS JOIN trajectory_settings s
    LEFT JOIN vehicle_state st ON st.vehicle_id = d.vehicle_id
    WHERE s.id AND d.max_ts >= p_start - s.max_gap AND d.min_ts <= p_end + s.max_gap
        AND (st.open_bucket IS NULL OR d.bucket < st.open_bucket
             OR (least(d.min_lon, st.open_xmin) <= ST_XMax(p_area) AND greatest(d.max_lon, st.open_xmax) >= ST_XMin(p_area)
                 AND least(d.min_lat, st.open_ymin) <= ST_YMax(p_area)
                 AND greatest(d.max_lat, st.open_ymax) >= ST_YMin(p_area)))
$$;

-- Trips that touch the area (polygon, bbox, line or point) during the window, each cut to the
-- window (not to the area), ordered by vehicle and start; page with p_limit / p_offset.
CREATE OR REPLACE FUNCTION trips_in_area(
    p_area geometry, p_start timestamptz, p_end timestamptz,
    p_limit integer DEFAULT 100, p_offset integer DEFAULT 0
)
RETURNS TABLE (
    vehicle_id text, trip_start timestamptz, trip_end timestamptz, path jsonb, timestamps jsonb,
    trip tgeogpoint
)
LANGUAGE sql STABLE
AS $$
    WITH area AS (
        SELECT geostream_area_4326(p_area) AS g
    ),
    trips AS (
        SELECT c.vehicle_id, s.seq
        FROM area
        CROSS JOIN LATERAL geostream_area_candidates(area.g, p_start, p_end) AS c(vehicle_id)
        CROSS JOIN LATERAL unnest(sequences(vehicle_trajectory(c.vehicle_id, p_start, p_end))) AS s(seq)
        WHERE eIntersects(s.seq::tgeompoint, area.g)
    ),
    page AS (
        SELECT t.vehicle_id, t.seq FROM trips t
        ORDER BY t.vehicle_id, startTimestamp(t.seq)
        LIMIT p_limit OFFSET p_offset
    )
    SELECT pg.vehicle_id, startTimestamp(pg.seq), endTimestamp(pg.seq), p.path, p.timestamps, pg.seq
    FROM page pg
    CROSS JOIN LATERAL geostream_trip_path(pg.seq) AS p
    ORDER BY 1, 2
$$;

CREATE OR REPLACE FUNCTION trips_in_bbox(
    p_min_lon float8, p_min_lat float8, p_max_lon float8, p_max_lat float8,
    p_start timestamptz, p_end timestamptz, p_limit integer DEFAULT 100, p_offset integer DEFAULT 0
)
RETURNS TABLE (
    vehicle_id text, trip_start timestamptz, trip_end timestamptz, path jsonb, timestamps jsonb,
    trip tgeogpoint
)
LANGUAGE sql STABLE
AS $$
    SELECT * FROM trips_in_area(ST_MakeEnvelope(p_min_lon, p_min_lat, p_max_lon, p_max_lat, 4326),
                                p_start, p_end, p_limit, p_offset)
$$;

-- Vehicles inside the area during the window, with their first and last time inside it.
CREATE OR REPLACE FUNCTION vehicles_in_area(
    p_area geometry, p_start timestamptz, p_end timestamptz,
    p_limit integer DEFAULT 100, p_offset integer DEFAULT 0
)
RETURNS TABLE (vehicle_id text, first_inside timestamptz, last_inside timestamptz)
LANGUAGE sql STABLE
AS $$
    WITH area AS MATERIALIZED (
        SELECT geostream_area_4326(p_area) AS g
    )
    SELECT c.vehicle_id, startTimestamp(x.inside), endTimestamp(x.inside)
    FROM (
        -- In vehicle order, so the LIMIT stops building trajectories once the page is full.
        SELECT v.vehicle_id FROM area, geostream_area_candidates(area.g, p_start, p_end) AS v(vehicle_id)
        ORDER BY 1
    ) AS c
    CROSS JOIN LATERAL (
        -- OFFSET 0 keeps the planner from copying the expression into each of its three uses.
        SELECT atGeometry(vehicle_trajectory(c.vehicle_id, p_start, p_end)::tgeompoint, area.g) AS inside
        FROM area OFFSET 0
    ) AS x
    WHERE x.inside IS NOT NULL
    ORDER BY 1
    LIMIT p_limit OFFSET p_offset
$$;

CREATE OR REPLACE FUNCTION vehicles_in_bbox(
    p_min_lon float8, p_min_lat float8, p_max_lon float8, p_max_lat float8,
    p_start timestamptz, p_end timestamptz, p_limit integer DEFAULT 100, p_offset integer DEFAULT 0
)
RETURNS TABLE (vehicle_id text, first_inside timestamptz, last_inside timestamptz)
LANGUAGE sql STABLE
AS $$
    SELECT * FROM vehicles_in_area(ST_MakeEnvelope(p_min_lon, p_min_lat, p_max_lon, p_max_lat, 4326),
                                   p_start, p_end, p_limit, p_offset)
$$;

-- Per-vehicle statistics over a window (one vehicle, or every vehicle with data in the window):
-- trips, instants, length (m), moving duration (sum of trip durations, gaps excluded), average
-- speed (length / moving duration) and maximum speed, in m/s.
CREATE OR REPLACE FUNCTION vehicle_stats(p_start timestamptz, p_end timestamptz, p_vehicle text DEFAULT NULL)
RETURNS TABLE (
    vehicle_id text, trips integer, num_instants integer, length_m float8, duration interval,
    avg_speed_mps float8, max_speed_mps float8
)
LANGUAGE sql STABLE
AS $$
    WITH v AS (
        SELECT p_vehicle AS vehicle_id WHERE p_vehicle IS NOT NULL
        UNION
        SELECT g.vehicle_id
        FROM vehicle_trajectory_segments g
        WHERE p_vehicle IS NULL AND g.extent && stbox(span(p_start, p_end, true, true))
            AND g.bucket > p_start - (SELECT s.bucket_width FROM trajectory_settings s WHERE s.id)
            AND g.bucket <= p_end + (SELECT s.max_gap FROM trajectory_settings s WHERE s.id)
        UNION
        SELECT st.vehicle_id
        FROM vehicle_state st
        WHERE p_vehicle IS NULL AND st.open_tmax >= p_start AND st.open_tmin <= p_end
        UNION
        SELECT d.vehicle_id
        FROM trajectory_dirty d CROSS JOIN trajectory_settings s
        WHERE p_vehicle IS NULL AND s.id AND d.max_ts >= p_start - s.max_gap AND d.min_ts <= p_end + s.max_gap
    )
    SELECT v.vehicle_id, count(*)::integer, sum(t.num_instants)::integer, sum(t.length_m), sum(t.duration),
           CASE WHEN sum(t.duration) > interval '0'
               THEN sum(t.length_m) / extract(epoch FROM sum(t.duration))::float8 END,
           max(t.max_speed_mps)
    FROM v
    CROSS JOIN LATERAL vehicle_trips(v.vehicle_id, p_start, p_end) AS t
    GROUP BY v.vehicle_id
    ORDER BY v.vehicle_id
$$;

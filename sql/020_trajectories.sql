-- Per-vehicle trajectories (tgeogpoint), maintained from vehicle_points by statement-level triggers.
--
-- Time is cut into buckets of trajectory_settings.bucket_width. For each vehicle:
--   * every bucket older than the vehicle's newest one is materialised in
--     vehicle_trajectory_segments as a tgeogpoint sequence set (a new sequence after a gap larger
--     than trajectory_settings.max_gap), prefixed with the vehicle's last instant before the bucket
--     when that instant is within max_gap, so segments of consecutive buckets share an instant and
--     merge() joins them into one continuous sequence;
--   * the newest bucket (vehicle_state.open_bucket) is not stored: it is built from the stored
--     instants when queried (at most one bucket of points), so an in-order batch only touches the
--     small vehicle_state row. A bucket is built once, when the vehicle moves past it.
-- Late, out-of-order and corrected points rebuild only the closed buckets they fall in (and the
-- next one, whose prefix they may change), always from the stored instants, so MobilityDB gets
-- its instants in time order and a long history is never rewritten. Buckets to (re)build are marked
-- by each statement and built once per transaction, at its commit.
-- A failure while maintaining trajectories never fails the writer: the change is queued in
-- trajectory_repair_queue, which has one owner that drains it: the Flink job inserts a tick into
-- trajectory_repair_ticks every second and the tick's trigger runs repair_trajectories() (see the end
-- of this file). trajectory_repair_status() tells its depth.

CREATE TABLE IF NOT EXISTS trajectory_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    max_gap interval NOT NULL DEFAULT interval '5 minutes',
    bucket_width interval NOT NULL DEFAULT interval '10 minutes',
    CONSTRAINT trajectory_settings_max_gap CHECK (max_gap > interval '0'),
    CONSTRAINT trajectory_settings_bucket_width
        CHECK (bucket_width BETWEEN interval '1 minute' AND interval '7 days' AND bucket_width >= max_gap)
);
INSERT INTO trajectory_settings DEFAULT VALUES ON CONFLICT (id) DO NOTHING;

COMMENT ON TABLE trajectory_settings IS
    'One row. max_gap: a longer silence starts a new sequence (trip). bucket_width: time span of one '
    'stored segment (>= max_gap). After changing either, run SELECT rebuild_trajectories().';

DO $$
BEGIN
    CREATE TYPE geostream_point AS (
        vehicle_id text, ts timestamptz, lon float8, lat float8, speed float8, heading float8
    );
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

-- Latest position of each vehicle, plus the bookkeeping of its open (newest, not stored) bucket:
-- open_* is a bounding box of every point that can lie on that bucket's trajectory (its own points
-- and the prefix instant), so area queries can skip vehicles without building their open bucket.
CREATE TABLE IF NOT EXISTS vehicle_state (
    vehicle_id text PRIMARY KEY,
    ts timestamptz,
    lon float8,
    lat float8,
    speed float8,
    heading float8,
    open_bucket timestamptz,
    open_xmin float8,
    open_ymin float8,
    open_xmax float8,
    open_ymax float8,
    open_tmin timestamptz,
    open_tmax timestamptz,
    prev_open timestamptz  -- open_bucket before the last change (read back through RETURNING)
) WITH (fillfactor = 70);

CREATE TABLE IF NOT EXISTS vehicle_trajectory_segments (
    vehicle_id text NOT NULL,
    bucket timestamptz NOT NULL,
    trajectory tgeogpoint NOT NULL,
    extent stbox NOT NULL,
    num_instants integer NOT NULL,
    PRIMARY KEY (vehicle_id, bucket)
);

COMMENT ON COLUMN vehicle_trajectory_segments.extent IS
    'Planar lon/lat (SRID 4326) + time box of the trajectory: '
    'the index for bounding-box and polygon queries.';

CREATE INDEX IF NOT EXISTS vehicle_trajectory_segments_trajectory_gist
    ON vehicle_trajectory_segments USING gist (trajectory);
CREATE INDEX IF NOT EXISTS vehicle_trajectory_segments_extent_gist
    ON vehicle_trajectory_segments USING gist (extent);

CREATE TABLE IF NOT EXISTS trajectory_repair_queue (
    id bigserial PRIMARY KEY,
    vehicle_id text NOT NULL,
    ts_from timestamptz NOT NULL,
    ts_to timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    sqlstate text,
    error text,
    queued_at timestamptz NOT NULL DEFAULT now()
);
-- Not before this time: a failed repair is retried after 2^attempts seconds (at most an hour), never
-- dropped and never retried in a tight loop.
ALTER TABLE trajectory_repair_queue ADD COLUMN IF NOT EXISTS retry_after timestamptz NOT NULL DEFAULT now();

-- Closed buckets to rebuild, marked by the triggers and rebuilt once per transaction, at commit, by
-- a deferred constraint trigger: a batch split into many statements (pgjdbc sends a 1000-row batch
-- as statements of at most 128 rows) rebuilds each bucket once. Empty outside a transaction.
CREATE UNLOGGED TABLE IF NOT EXISTS trajectory_dirty (
    vehicle_id text NOT NULL,
    bucket timestamptz NOT NULL,
    PRIMARY KEY (vehicle_id, bucket)
);

CREATE OR REPLACE FUNCTION geostream_bucket(ts timestamptz, width interval)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin(width, ts, timestamptz '2000-01-01 00:00:00+00');

-- The trajectory of one bucket, from the stored instants: a sequence set, or NULL if the bucket
-- holds no valid position. (The aggregate only runs on a non-empty input: see 001_extensions.sql.)
CREATE OR REPLACE FUNCTION geostream_build_segment(
    p_vehicle text, p_bucket timestamptz, p_width interval, p_gap interval
)
RETURNS tgeogpoint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH pts AS (
        SELECT p.ts, p.lon, p.lat
        FROM vehicle_points p
        WHERE p.vehicle_id = p_vehicle AND p.ts >= p_bucket AND p.ts < p_bucket + p_width
            AND geostream_valid_position(p.lon, p.lat)
    ),
    prefix AS (
        SELECT p.ts, p.lon, p.lat
        FROM vehicle_points p
        WHERE p.vehicle_id = p_vehicle AND p.ts < p_bucket
            AND p.ts >= (SELECT min(pts.ts) FROM pts) - p_gap
            AND geostream_valid_position(p.lon, p.lat)
        ORDER BY p.ts DESC
        LIMIT 1
    )
    SELECT (
        SELECT appendInstant(tgeogpoint(ST_Point(x.lon, x.lat, 4326)::geography, x.ts), NULL::float8, p_gap
                             ORDER BY x.ts)
        FROM (SELECT * FROM pts UNION ALL SELECT * FROM prefix) AS x
    )
    WHERE EXISTS (SELECT 1 FROM pts)
$$;

-- The trajectory between two times built straight from the stored instants (no segments).
CREATE OR REPLACE FUNCTION geostream_build_range(
    p_vehicle text, p_from timestamptz, p_to timestamptz, p_gap interval
)
RETURNS tgeogpoint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH pts AS (
        SELECT p.ts, p.lon, p.lat
        FROM vehicle_points p
        WHERE p.vehicle_id = p_vehicle AND p.ts >= p_from AND p.ts <= p_to
            AND geostream_valid_position(p.lon, p.lat)
    )
    SELECT (
        SELECT appendInstant(tgeogpoint(ST_Point(pts.lon, pts.lat, 4326)::geography, pts.ts), NULL::float8,
                             p_gap ORDER BY pts.ts)
        FROM pts
    )
    WHERE EXISTS (SELECT 1 FROM pts)
$$;

-- Incremental maintenance for a set of added and removed points (valid positions only).
CREATE OR REPLACE FUNCTION geostream_apply_changes(p_added geostream_point[], p_removed geostream_point[])
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_width interval;
    v_gap interval;
    v_vehicles text[];
    v_prev timestamptz[];
    v_open timestamptz[];
    v_todo text[];
    v_rounds integer := 0;
    v_built integer;
BEGIN
    SELECT bucket_width, max_gap INTO v_width, v_gap FROM trajectory_settings WHERE id;

    -- 1. Latest position and open bucket: one UPDATE of each vehicle's row (an INSERT for a new
    -- vehicle). It serialises the writers of a vehicle, as the row stays locked until commit, and
    -- its SET expressions see the latest committed row, so RETURNING gives the true old open bucket.
    -- A vehicle inserted meanwhile by a concurrent writer is left out by ON CONFLICT DO NOTHING and
    -- updated by the next round, whose new snapshot sees it. (Two writers sharing vehicles can
    -- deadlock; the victim's trajectory work is queued for repair, its rows are still written.)
    v_todo := ARRAY(SELECT DISTINCT a.vehicle_id FROM unnest(p_added) AS a
                    UNION SELECT r.vehicle_id FROM unnest(p_removed) AS r);
    v_vehicles := '{}';
    v_prev := '{}';
    v_open := '{}';
    WHILE cardinality(v_todo) > 0 LOOP
        v_rounds := v_rounds + 1;
        IF v_rounds > 5 THEN
            RAISE EXCEPTION 'vehicle_state: could not update % vehicles', cardinality(v_todo);
        END IF;
        WITH a AS (
            SELECT * FROM unnest(p_added) AS x WHERE x.vehicle_id IN (SELECT unnest(v_todo))
        ),
        latest AS (
            SELECT DISTINCT ON (a.vehicle_id) a.vehicle_id, a.ts, a.lon, a.lat, a.speed, a.heading,
                   geostream_bucket(a.ts, v_width) AS max_bucket
            FROM a
            ORDER BY a.vehicle_id, a.ts DESC
        ),
        -- Points that can lie on the open bucket's trajectory (its own, and its prefix candidates).
        box AS (
            SELECT a.vehicle_id, min(a.lon) AS xmin, min(a.lat) AS ymin, max(a.lon) AS xmax,
                   max(a.lat) AS ymax, min(a.ts) AS tmin, max(a.ts) AS tmax
            FROM a JOIN latest l ON l.vehicle_id = a.vehicle_id
            WHERE a.ts >= l.max_bucket - v_gap
            GROUP BY a.vehicle_id
        ),
        i AS (
            SELECT t.vehicle_id, l.ts, l.lon, l.lat, l.speed, l.heading,
                   coalesce(l.max_bucket, '-infinity') AS max_bucket,
                   b.xmin, b.ymin, b.xmax, b.ymax, b.tmin, b.tmax
            FROM unnest(v_todo) AS t(vehicle_id)
            LEFT JOIN latest l ON l.vehicle_id = t.vehicle_id
            LEFT JOIN box b ON b.vehicle_id = t.vehicle_id
        ),
        updated AS (
            UPDATE vehicle_state AS s
            SET prev_open = s.open_bucket,
                ts = CASE WHEN i.ts >= s.ts OR s.ts IS NULL THEN i.ts ELSE s.ts END,
                lon = CASE WHEN i.ts >= s.ts OR s.ts IS NULL THEN i.lon ELSE s.lon END,
                lat = CASE WHEN i.ts >= s.ts OR s.ts IS NULL THEN i.lat ELSE s.lat END,
                speed = CASE WHEN i.ts >= s.ts OR s.ts IS NULL THEN i.speed ELSE s.speed END,
                heading = CASE WHEN i.ts >= s.ts OR s.ts IS NULL THEN i.heading ELSE s.heading END,
                open_bucket = GREATEST(s.open_bucket, i.max_bucket),
                -- The old box stays valid while the open bucket is the same or the next one (whose
                -- prefix lies in the old open bucket); incoming points count when they can reach it.
                open_xmin = LEAST(CASE WHEN i.max_bucket <= s.open_bucket + v_width THEN s.open_xmin END,
                                  CASE WHEN i.max_bucket >= s.open_bucket - v_width THEN i.xmin END),
                open_ymin = LEAST(CASE WHEN i.max_bucket <= s.open_bucket + v_width THEN s.open_ymin END,
                                  CASE WHEN i.max_bucket >= s.open_bucket - v_width THEN i.ymin END),
                open_xmax = GREATEST(CASE WHEN i.max_bucket <= s.open_bucket + v_width THEN s.open_xmax END,
                                     CASE WHEN i.max_bucket >= s.open_bucket - v_width THEN i.xmax END),
                open_ymax = GREATEST(CASE WHEN i.max_bucket <= s.open_bucket + v_width THEN s.open_ymax END,
                                     CASE WHEN i.max_bucket >= s.open_bucket - v_width THEN i.ymax END),
                open_tmin = LEAST(CASE WHEN i.max_bucket <= s.open_bucket + v_width THEN s.open_tmin END,
                                  CASE WHEN i.max_bucket >= s.open_bucket - v_width THEN i.tmin END),
                open_tmax = GREATEST(CASE WHEN i.max_bucket <= s.open_bucket + v_width THEN s.open_tmax END,
                                     CASE WHEN i.max_bucket >= s.open_bucket - v_width THEN i.tmax END)
            FROM i
            WHERE s.vehicle_id = i.vehicle_id
            RETURNING s.vehicle_id, s.prev_open, s.open_bucket
        ),
        inserted AS (
            INSERT INTO vehicle_state (
                vehicle_id, ts, lon, lat, speed, heading, open_bucket,
                open_xmin, open_ymin, open_xmax, open_ymax, open_tmin, open_tmax
            )
            SELECT i.vehicle_id, i.ts, i.lon, i.lat, i.speed, i.heading, i.max_bucket,
                   i.xmin, i.ymin, i.xmax, i.ymax, i.tmin, i.tmax
            FROM i
            WHERE i.ts IS NOT NULL AND i.vehicle_id NOT IN (SELECT u.vehicle_id FROM updated u)
            ORDER BY i.vehicle_id
            ON CONFLICT (vehicle_id) DO NOTHING
            RETURNING vehicle_state.vehicle_id, vehicle_state.prev_open, vehicle_state.open_bucket
        ),
        done AS (
            SELECT * FROM updated UNION ALL SELECT * FROM inserted
        )
        SELECT v_vehicles || coalesce(array_agg(d.vehicle_id), '{}'),
               v_prev || coalesce(array_agg(d.prev_open), '{}'),
               v_open || coalesce(array_agg(d.open_bucket), '{}'),
               ARRAY(
                   SELECT i.vehicle_id FROM i
                   WHERE i.ts IS NOT NULL AND i.vehicle_id NOT IN (SELECT d2.vehicle_id FROM done d2)
               )
        INTO v_vehicles, v_prev, v_open, v_todo
        FROM done d;
    END LOOP;

    -- 2. Removed points: a vehicle that lost its latest point takes its newest remaining one.
    IF cardinality(p_removed) > 0 THEN
        UPDATE vehicle_state s
        SET ts = p.ts, lon = p.lon, lat = p.lat, speed = p.speed, heading = p.heading
        FROM (SELECT DISTINCT r.vehicle_id, r.ts FROM unnest(p_removed) AS r) AS gone
        LEFT JOIN LATERAL (
            SELECT q.ts, q.lon, q.lat, q.speed, q.heading
            FROM vehicle_points q
            WHERE q.vehicle_id = gone.vehicle_id AND geostream_valid_position(q.lon, q.lat)
            ORDER BY q.ts DESC
            LIMIT 1
        ) AS p ON true
        WHERE s.vehicle_id = gone.vehicle_id AND s.ts = gone.ts;
        DELETE FROM vehicle_state s WHERE s.vehicle_id = ANY (v_vehicles) AND s.ts IS NULL;
    END IF;

    -- 3. Closed buckets to rebuild: those of the changed points, the next ones (whose prefix they may
    -- change), and the previous open bucket once the vehicle has moved past it. Rebuilt at commit.
    WITH st AS (
        SELECT * FROM unnest(v_vehicles, v_prev, v_open) AS t(vehicle_id, prev_open, open_bucket)
    ),
    marked AS (
        INSERT INTO trajectory_dirty (vehicle_id, bucket)
        SELECT DISTINCT x.vehicle_id, x.bucket
        FROM (
            SELECT a.vehicle_id, geostream_bucket(a.ts, v_width) AS bucket FROM unnest(p_added) AS a
            UNION ALL
            SELECT a.vehicle_id, geostream_bucket(a.ts + v_gap, v_width) FROM unnest(p_added) AS a
            UNION ALL
            SELECT r.vehicle_id, geostream_bucket(r.ts, v_width) FROM unnest(p_removed) AS r
            UNION ALL
            SELECT r.vehicle_id, geostream_bucket(r.ts + v_gap, v_width) FROM unnest(p_removed) AS r
            UNION ALL
            SELECT st.vehicle_id, st.prev_open FROM st WHERE st.prev_open IS NOT NULL
        ) AS x
        JOIN st ON st.vehicle_id = x.vehicle_id
        WHERE x.bucket < st.open_bucket
        ORDER BY 1, 2
        ON CONFLICT (vehicle_id, bucket) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO v_built FROM marked;
    RETURN v_built;
END
$$;

-- Build and store (or delete, when empty) the segments of the given (vehicle, bucket) pairs.
CREATE OR REPLACE FUNCTION geostream_store_segments(p_vehicles text[], p_buckets timestamptz[])
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_width interval;
    v_gap interval;
    v_built integer;
BEGIN
    SELECT bucket_width, max_gap INTO v_width, v_gap FROM trajectory_settings WHERE id;
    WITH m AS (
        SELECT DISTINCT t.vehicle_id, t.bucket FROM unnest(p_vehicles, p_buckets) AS t(vehicle_id, bucket)
    ),
    built AS (
        SELECT m.vehicle_id, m.bucket, geostream_build_segment(m.vehicle_id, m.bucket, v_width, v_gap) AS traj
        FROM m
    ),
    del AS (
        DELETE FROM vehicle_trajectory_segments s
        USING built b
        WHERE b.traj IS NULL AND s.vehicle_id = b.vehicle_id AND s.bucket = b.bucket
    ),
    ins AS (
        INSERT INTO vehicle_trajectory_segments AS s (vehicle_id, bucket, trajectory, extent, num_instants)
        SELECT b.vehicle_id, b.bucket, b.traj, stbox(b.traj::tgeompoint), numInstants(b.traj)
        FROM built b
        WHERE b.traj IS NOT NULL
        ORDER BY b.vehicle_id, b.bucket
        ON CONFLICT (vehicle_id, bucket) DO UPDATE
        SET trajectory = excluded.trajectory, extent = excluded.extent, num_instants = excluded.num_instants
    )
    SELECT count(*) INTO v_built FROM built;
    RETURN v_built;
END
$$;

-- Deferred to commit, one event per marked bucket: the first event of the transaction rebuilds every
-- marked bucket, the others find theirs gone. A failure is queued for repair, never raised.
CREATE OR REPLACE FUNCTION geostream_flush_dirty()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_vehicles text[];
    v_buckets timestamptz[];
    v_width interval;
    v_state text;
    v_message text;
BEGIN
    PERFORM 1 FROM trajectory_dirty d WHERE d.vehicle_id = NEW.vehicle_id AND d.bucket = NEW.bucket;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    WITH d AS (
        DELETE FROM trajectory_dirty RETURNING vehicle_id, bucket
    )
    SELECT array_agg(d.vehicle_id ORDER BY d.vehicle_id, d.bucket),
           array_agg(d.bucket ORDER BY d.vehicle_id, d.bucket)
    INTO v_vehicles, v_buckets
    FROM d;
    BEGIN
        PERFORM geostream_store_segments(v_vehicles, v_buckets);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
        SELECT bucket_width INTO v_width FROM trajectory_settings WHERE id;
        INSERT INTO trajectory_repair_queue (vehicle_id, ts_from, ts_to, sqlstate, error)
        SELECT t.vehicle_id, min(t.bucket), max(t.bucket) + v_width, v_state, v_message
        FROM unnest(v_vehicles, v_buckets) AS t(vehicle_id, bucket)
        GROUP BY t.vehicle_id;
        RAISE WARNING 'geostream: trajectory rebuild failed (%: %); queued in trajectory_repair_queue',
            v_state, v_message;
    END;
    RETURN NULL;
END
$$;

-- Full recomputation of one vehicle's state and of its segments between two times, from the
-- stored instants (repair, settings change, manual edits).
CREATE OR REPLACE FUNCTION geostream_resync_vehicle(
    p_vehicle text, p_from timestamptz DEFAULT '-infinity', p_to timestamptz DEFAULT 'infinity'
)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_width interval;
    v_gap interval;
    v_latest geostream_point;
    v_old_open timestamptz;
    v_open timestamptz;
    v_buckets timestamptz[];
BEGIN
    SELECT bucket_width, max_gap INTO v_width, v_gap FROM trajectory_settings WHERE id;
    INSERT INTO vehicle_state (vehicle_id) VALUES (p_vehicle) ON CONFLICT (vehicle_id) DO NOTHING;
    SELECT open_bucket INTO v_old_open FROM vehicle_state WHERE vehicle_id = p_vehicle FOR UPDATE;

    SELECT p.vehicle_id, p.ts, p.lon, p.lat, p.speed, p.heading INTO v_latest
    FROM vehicle_points p
    WHERE p.vehicle_id = p_vehicle AND geostream_valid_position(p.lon, p.lat)
    ORDER BY p.ts DESC
    LIMIT 1;
    IF v_latest.ts IS NULL THEN
        DELETE FROM vehicle_trajectory_segments WHERE vehicle_id = p_vehicle;
        DELETE FROM vehicle_state WHERE vehicle_id = p_vehicle;
        RETURN 0;
    END IF;
    v_open := geostream_bucket(v_latest.ts, v_width);

    UPDATE vehicle_state s
    SET ts = v_latest.ts, lon = v_latest.lon, lat = v_latest.lat, speed = v_latest.speed,
        heading = v_latest.heading, open_bucket = v_open,
        open_xmin = b.xmin, open_ymin = b.ymin, open_xmax = b.xmax, open_ymax = b.ymax,
        open_tmin = b.tmin, open_tmax = b.tmax
    FROM (
        SELECT min(p.lon) AS xmin, min(p.lat) AS ymin, max(p.lon) AS xmax, max(p.lat) AS ymax,
               min(p.ts) AS tmin, max(p.ts) AS tmax
        FROM vehicle_points p
        WHERE p.vehicle_id = p_vehicle AND p.ts >= v_open - v_gap AND geostream_valid_position(p.lon, p.lat)
    ) AS b
    WHERE s.vehicle_id = p_vehicle;

    -- Segments that cannot exist: the open bucket and later, or not aligned to the bucket width.
    DELETE FROM vehicle_trajectory_segments s
    WHERE s.vehicle_id = p_vehicle
        AND (s.bucket >= v_open OR s.bucket <> geostream_bucket(s.bucket, v_width));

    SELECT array_agg(x.bucket) INTO v_buckets
    FROM (
        SELECT geostream_bucket(p.ts, v_width) AS bucket
        FROM vehicle_points p
        WHERE p.vehicle_id = p_vehicle AND p.ts >= p_from AND p.ts <= p_to
        UNION
        SELECT geostream_bucket(p.ts + v_gap, v_width)
        FROM vehicle_points p
        WHERE p.vehicle_id = p_vehicle AND p.ts >= p_from AND p.ts <= p_to
        UNION
        SELECT s.bucket
        FROM vehicle_trajectory_segments s
        WHERE s.vehicle_id = p_vehicle AND s.bucket > p_from - v_width AND s.bucket <= p_to + v_gap
        UNION
        SELECT v_old_open  -- it may have been passed by the points being resynchronised
    ) AS x
    WHERE x.bucket < v_open;
    IF v_buckets IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM trajectory_dirty d WHERE d.vehicle_id = p_vehicle AND d.bucket = ANY (v_buckets);
    RETURN geostream_store_segments(array_fill(p_vehicle, ARRAY[cardinality(v_buckets)]), v_buckets);
END
$$;

-- Rebuild the trajectories of one vehicle, or of all (after changing trajectory_settings).
CREATE OR REPLACE FUNCTION rebuild_trajectories(p_vehicle text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_vehicle text;
    v_count integer := 0;
BEGIN
    FOR v_vehicle IN
        SELECT s.vehicle_id FROM vehicle_state s WHERE p_vehicle IS NULL
        UNION
        SELECT DISTINCT g.vehicle_id FROM vehicle_trajectory_segments g WHERE p_vehicle IS NULL
        UNION
        SELECT DISTINCT p.vehicle_id FROM vehicle_points p WHERE p_vehicle IS NULL
        UNION
        SELECT p_vehicle WHERE p_vehicle IS NOT NULL
        ORDER BY 1
    LOOP
        PERFORM geostream_resync_vehicle(v_vehicle);
        v_count := v_count + 1;
    END LOOP;
    DELETE FROM trajectory_repair_queue q WHERE p_vehicle IS NULL OR q.vehicle_id = p_vehicle;
    RETURN v_count;
END
$$;

-- Process queued repairs (each in its own subtransaction); returns how many were repaired.
CREATE OR REPLACE FUNCTION repair_trajectories(p_max integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_item trajectory_repair_queue;
    v_done integer := 0;
    v_state text;
    v_message text;
BEGIN
    FOR v_item IN
        SELECT * FROM trajectory_repair_queue q
        WHERE q.retry_after <= now()
        ORDER BY q.id
        LIMIT p_max
        FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            PERFORM geostream_resync_vehicle(v_item.vehicle_id, v_item.ts_from, v_item.ts_to);
            DELETE FROM trajectory_repair_queue WHERE id = v_item.id;
            v_done := v_done + 1;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
            UPDATE trajectory_repair_queue
            SET attempts = attempts + 1, sqlstate = v_state, error = v_message,
                retry_after = now() + least(interval '1 second' * power(2, least(attempts, 12)),
                                            interval '1 hour')
            WHERE id = v_item.id;
        END;
    END LOOP;
    RETURN v_done;
END
$$;

-- Never lets a trajectory failure reach the writer: the change is queued for repair instead.
CREATE OR REPLACE FUNCTION geostream_apply_changes_safely(
    p_added geostream_point[], p_removed geostream_point[]
)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_state text;
    v_message text;
BEGIN
    BEGIN
        PERFORM geostream_apply_changes(coalesce(p_added, '{}'), coalesce(p_removed, '{}'));
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
        INSERT INTO trajectory_repair_queue (vehicle_id, ts_from, ts_to, sqlstate, error)
        SELECT c.vehicle_id, min(c.ts), max(c.ts), v_state, v_message
        FROM (
            SELECT a.vehicle_id, a.ts FROM unnest(p_added) AS a
            UNION ALL
            SELECT r.vehicle_id, r.ts FROM unnest(p_removed) AS r
        ) AS c
        GROUP BY c.vehicle_id;
        RAISE WARNING 'geostream: trajectory update failed (%: %); queued in trajectory_repair_queue',
            v_state, v_message;
    END;
    -- Repairs are left to the queue's owner (trajectory_repair_ticks): a writer never pays for them.
END
$$;

-- Trigger functions. Statement level with transition tables: one call per INSERT/UPDATE/DELETE
-- statement (a 1000-row batch is one call), whatever the number of rows.
CREATE OR REPLACE FUNCTION geostream_points_inserted()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_added geostream_point[];
BEGIN
    SELECT array_agg(ROW(n.vehicle_id, n.ts, n.lon, n.lat, n.speed, n.heading)::geostream_point)
    INTO v_added
    FROM new_points n
    WHERE geostream_valid_position(n.lon, n.lat);
    IF v_added IS NOT NULL THEN
        PERFORM geostream_apply_changes_safely(v_added, NULL);
    END IF;
    RETURN NULL;
END
$$;

-- INSERT ... ON CONFLICT DO UPDATE fires this for the rows that already existed: exact replays
-- change nothing and cost only this comparison.
CREATE OR REPLACE FUNCTION geostream_points_updated()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_added geostream_point[];
    v_removed geostream_point[];
BEGIN
    SELECT
        array_agg(ROW(n.vehicle_id, n.ts, n.lon, n.lat, n.speed, n.heading)::geostream_point)
            FILTER (WHERE geostream_valid_position(n.lon, n.lat)),
        array_agg(ROW(o.vehicle_id, o.ts, o.lon, o.lat, o.speed, o.heading)::geostream_point)
            FILTER (WHERE geostream_valid_position(o.lon, o.lat))
    INTO v_added, v_removed
    FROM new_points n
    FULL JOIN old_points o ON o.vehicle_id = n.vehicle_id AND o.ts = n.ts
    WHERE n.vehicle_id IS NULL OR o.vehicle_id IS NULL
        OR (n.lon, n.lat, n.speed, n.heading) IS DISTINCT FROM (o.lon, o.lat, o.speed, o.heading);
    IF v_added IS NOT NULL OR v_removed IS NOT NULL THEN
        PERFORM geostream_apply_changes_safely(v_added, v_removed);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION geostream_points_deleted()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_removed geostream_point[];
BEGIN
    SELECT array_agg(ROW(o.vehicle_id, o.ts, o.lon, o.lat, o.speed, o.heading)::geostream_point)
    INTO v_removed
    FROM old_points o
    WHERE geostream_valid_position(o.lon, o.lat);
    IF v_removed IS NOT NULL THEN
        PERFORM geostream_apply_changes_safely(NULL, v_removed);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION geostream_points_truncated()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE vehicle_trajectory_segments, vehicle_state, trajectory_repair_queue, trajectory_dirty;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER vehicle_points_trajectory_insert
    AFTER INSERT ON vehicle_points
    REFERENCING NEW TABLE AS new_points
    FOR EACH STATEMENT EXECUTE FUNCTION geostream_points_inserted();

CREATE OR REPLACE TRIGGER vehicle_points_trajectory_update
    AFTER UPDATE ON vehicle_points
    REFERENCING OLD TABLE AS old_points NEW TABLE AS new_points
    FOR EACH STATEMENT EXECUTE FUNCTION geostream_points_updated();

CREATE OR REPLACE TRIGGER vehicle_points_trajectory_delete
    AFTER DELETE ON vehicle_points
    REFERENCING OLD TABLE AS old_points
    FOR EACH STATEMENT EXECUTE FUNCTION geostream_points_deleted();

CREATE OR REPLACE TRIGGER vehicle_points_trajectory_truncate
    AFTER TRUNCATE ON vehicle_points
    FOR EACH STATEMENT EXECUTE FUNCTION geostream_points_truncated();

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_trigger
        WHERE tgname = 'trajectory_dirty_flush' AND tgrelid = 'trajectory_dirty'::regclass
    ) THEN
        CREATE CONSTRAINT TRIGGER trajectory_dirty_flush
            AFTER INSERT ON trajectory_dirty
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION geostream_flush_dirty();
    END IF;
END
$$;


-- The owner of trajectory_repair_queue. The Flink job writes one row per second into
-- trajectory_repair_ticks (a JDBC sink fed by a datagen source, so it runs wherever the job runs, local
-- MiniCluster or cluster); the row is never stored: its trigger drains what is due in the queue and
-- records the run in trajectory_repair_runs. Any other scheduler can do the same with
-- INSERT INTO trajectory_repair_ticks (owner) VALUES ('cron'), or call repair_trajectories() itself.
-- Several owners at once are safe: the queue is read FOR UPDATE SKIP LOCKED.
CREATE TABLE IF NOT EXISTS trajectory_repair_ticks (
    owner text,
    ticked_at timestamptz,
    max_items integer  -- queue items repaired at most per tick (default 100)
);

CREATE TABLE IF NOT EXISTS trajectory_repair_runs (
    owner text PRIMARY KEY,
    last_run timestamptz NOT NULL,
    last_repaired integer NOT NULL,
    repaired bigint NOT NULL
);

CREATE OR REPLACE FUNCTION geostream_repair_tick()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_repaired integer := 0;
BEGIN
    IF EXISTS (SELECT 1 FROM trajectory_repair_queue WHERE retry_after <= now()) THEN
        v_repaired := repair_trajectories(coalesce(NEW.max_items, 100));
    END IF;
    INSERT INTO trajectory_repair_runs AS r (owner, last_run, last_repaired, repaired)
    VALUES (coalesce(NEW.owner, 'unknown'), now(), v_repaired, v_repaired)
    ON CONFLICT (owner) DO UPDATE
    SET last_run = excluded.last_run, last_repaired = excluded.last_repaired,
        repaired = r.repaired + excluded.repaired;
    RETURN NULL;  -- nothing is stored in trajectory_repair_ticks
END
$$;

CREATE OR REPLACE TRIGGER trajectory_repair_tick
    BEFORE INSERT ON trajectory_repair_ticks
    FOR EACH ROW EXECUTE FUNCTION geostream_repair_tick();

-- Depth of the repair queue, for monitoring: queued items, those due now, those that failed at least
-- once, the oldest, and when an owner last drained it.
CREATE OR REPLACE FUNCTION trajectory_repair_status()
RETURNS TABLE (queued bigint, due bigint, failing bigint, oldest timestamptz, last_run timestamptz)
LANGUAGE sql STABLE
AS $$
    SELECT count(*),
           count(*) FILTER (WHERE q.retry_after <= now()),
           count(*) FILTER (WHERE q.attempts > 0),
           min(q.queued_at),
           (SELECT max(r.last_run) FROM trajectory_repair_runs r)
    FROM trajectory_repair_queue q
$$;

-- Per-vehicle trajectories (tgeogpoint), built from vehicle_points by the segmenter (services/segmenter).
--
-- Write path: a writer's statement only appends to trajectory_dirty which (vehicle, bucket) pairs it
-- changed, one row per pair and statement (a statement-level trigger with a transition table: one
-- INSERT ... SELECT ... GROUP BY, no loop, no per-row work in plpgsql). Everything else is the
-- segmenter's: every SEGMENTER_INTERVAL_S it runs segmenter_round(), one set-based statement that
-- claims the logged rows, updates each touched vehicle's vehicle_state (latest position, open bucket)
-- and rebuilds the touched CLOSED buckets with MobilityDB's appendInstant aggregate, one per bucket.
--
-- Time is cut into buckets of trajectory_settings.bucket_width. For each vehicle:
--   * every bucket older than the vehicle's newest one is stored in vehicle_trajectory_segments as a
--     tgeogpoint sequence set (a new sequence after a gap larger than max_gap), prefixed with the
--     vehicle's last instant before the bucket when that instant is within max_gap, so segments of
--     consecutive buckets share an instant and merge() joins them into one continuous sequence;
--   * the newest ("open") bucket, vehicle_state.open_bucket, is never stored: queries build it from
--     the stored instants (at most one bucket of points). A bucket is stored once, when the vehicle
--     moves past it, and again only when a late, corrected or deleted point changes it.
-- Queries never wait for the segmenter: a bucket still listed in trajectory_dirty is built from the
-- stored instants, like the open bucket, so a point is part of its trajectory as soon as it commits.

-- Writers lock vehicle_points, then trajectory_dirty (in the trigger). This file changes both, so it
-- takes vehicle_points first as well: applied while points are written, it waits for the writers
-- instead of deadlocking with them (the lock CREATE TRIGGER needs; it does not block readers). In a DO
-- block: the container's init runs each statement on its own (psql), where a bare LOCK TABLE is an
-- error; nothing writes yet then, and applied as one transaction the lock lasts to its end.
DO $$
BEGIN
    LOCK TABLE vehicle_points IN SHARE ROW EXCLUSIVE MODE;
END
$$;

-- No JIT in this database: MobilityDB's functions carry high planner costs, so small queries (one
-- bucket, one vehicle) crossed jit_above_cost and spent seconds compiling (measured: 11 s for a
-- 5-point segment on the loaded build machine, 0.09 s without JIT). New sessions get it.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END
$$;

CREATE TABLE IF NOT EXISTS trajectory_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    max_gap interval NOT NULL DEFAULT interval '5 minutes',
    bucket_width interval NOT NULL DEFAULT interval '10 minutes',
    CONSTRAINT trajectory_settings_max_gap CHECK (max_gap > interval '0'),
    CONSTRAINT trajectory_settings_bucket_width
        CHECK (bucket_width BETWEEN interval '1 minute' AND interval '7 days' AND bucket_width >= max_gap)
);
INSERT INTO trajectory_settings DEFAULT VALUES ON CONFLICT (id) DO NOTHING;
-- Statistics for its one row: never analyzed (autovacuum waits for 50 changed rows), the planner took it
-- for ~665 rows and multiplied every estimate that crosses it by that, choosing nested loops over CTEs
-- in segmenter_round (quadratic in the vehicles of a round).
ANALYZE trajectory_settings;

COMMENT ON TABLE trajectory_settings IS
    'One row. max_gap: a longer silence starts a new sequence (trip). bucket_width: time span of one '
    'stored segment (>= max_gap). After changing either, run CALL rebuild_trajectories().';

-- -- Objects of the trigger-maintained design this file replaced ------------------------------------
DROP TABLE IF EXISTS trajectory_repair_queue, trajectory_repair_ticks, trajectory_repair_runs;
DROP FUNCTION IF EXISTS trajectory_repair_status();
DROP FUNCTION IF EXISTS repair_trajectories(integer);
DROP FUNCTION IF EXISTS geostream_repair_tick();
DROP FUNCTION IF EXISTS geostream_resync_vehicle(text, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS geostream_flush_dirty() CASCADE;  -- with its constraint trigger
DROP FUNCTION IF EXISTS geostream_store_segments(text[], timestamptz[]);
DROP FUNCTION IF EXISTS geostream_apply_changes_safely(geostream_point[], geostream_point[]);
DROP FUNCTION IF EXISTS geostream_apply_changes(geostream_point[], geostream_point[]);
DROP FUNCTION IF EXISTS geostream_build_segment(text, timestamptz, interval, interval);
DROP TYPE IF EXISTS geostream_point;
DO $$
BEGIN
    -- Only when there is something to drop: ALTER TABLE locks out the segmenter even when it does nothing.
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('public.vehicle_state')
               AND attname = 'prev_open' AND NOT attisdropped) THEN
        ALTER TABLE vehicle_state DROP COLUMN prev_open;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'rebuild_trajectories' AND prokind = 'f') THEN
        DROP FUNCTION rebuild_trajectories(text);  -- now a procedure (it commits per vehicle)
    END IF;
    -- The old per-transaction UNLOGGED scratch table, and the unpartitioned segments (rebuilt below).
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('public.trajectory_dirty') AND relpersistence = 'u')
    THEN
        DROP TABLE trajectory_dirty;
    END IF;
    IF EXISTS (
        SELECT 1 FROM pg_class WHERE oid = to_regclass('public.vehicle_trajectory_segments') AND relkind = 'r'
    ) THEN
        DROP TABLE vehicle_trajectory_segments;
        CREATE TEMP TABLE geostream_rebuild_all ON COMMIT DROP AS SELECT true AS pending;
    END IF;
END
$$;

-- -- Tables ----------------------------------------------------------------------------------------

-- Latest valid position of each vehicle, plus its open (newest, never stored) bucket: open_* bound
-- every point that can lie on that bucket's trajectory (its own points and the prefix instant), so
-- area queries can skip vehicles without building their open bucket. Written by the segmenter only.
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
    open_tmax timestamptz
) WITH (fillfactor = 70);

CREATE TABLE IF NOT EXISTS vehicle_trajectory_segments (
    vehicle_id text NOT NULL,
    bucket timestamptz NOT NULL,
    trajectory tgeogpoint NOT NULL,
    extent stbox NOT NULL,
    num_instants integer NOT NULL,
    PRIMARY KEY (vehicle_id, bucket)
) PARTITION BY RANGE (bucket);

CREATE TABLE IF NOT EXISTS vehicle_trajectory_segments_default PARTITION OF vehicle_trajectory_segments DEFAULT;

COMMENT ON COLUMN vehicle_trajectory_segments.extent IS
    'Planar lon/lat (SRID 4326) + time box of the trajectory: '
    'the index for bounding-box and polygon queries.';

-- Only the extent index: no query filters on the tgeogpoint itself.
DROP INDEX IF EXISTS vehicle_trajectory_segments_trajectory_gist;
CREATE INDEX IF NOT EXISTS vehicle_trajectory_segments_extent_gist
    ON vehicle_trajectory_segments USING gist (extent);

-- The segmenter's queue: (vehicle, bucket) pairs changed since it last ran, appended by the writers'
-- statement triggers, deleted by segmenter_round(). Append-only for writers (no key they could
-- conflict on), so a writer never waits for the segmenter or for another writer. The box and times
-- bound the points that marked the row (area queries of a bucket not yet rebuilt use them).
-- LOGGED: it survives a crash and is visible on replicas (queries read it).
CREATE TABLE IF NOT EXISTS trajectory_dirty (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vehicle_id text NOT NULL,
    bucket timestamptz NOT NULL,
    min_lon float8,
    min_lat float8,
    max_lon float8,
    max_lat float8,
    min_ts timestamptz,
    max_ts timestamptz,
    marked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS trajectory_dirty_vehicle_bucket ON trajectory_dirty (vehicle_id, bucket);

-- The day partitions around today (the segmenter keeps creating them ahead).
SELECT ensure_partitions(current_date - 1, current_date + 3);

CREATE OR REPLACE FUNCTION default_partition_days(p_limit integer DEFAULT 7)
RETURNS SETOF date
LANGUAGE sql STABLE
AS $$
    SELECT DISTINCT x.day FROM (
        SELECT (ts AT TIME ZONE 'UTC')::date AS day FROM vehicle_points_default
        UNION ALL
        SELECT (bucket AT TIME ZONE 'UTC')::date FROM vehicle_trajectory_segments_default
    ) AS x
    ORDER BY 1
    LIMIT p_limit
$$;

COMMENT ON FUNCTION default_partition_days(integer) IS
    'Days with rows in a default partition (old backfills): ensure_partitions() moves them into their day.';

CREATE OR REPLACE FUNCTION geostream_bucket(ts timestamptz, width interval)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_bin(width, ts, timestamptz '2000-01-01 00:00:00+00');

-- -- Marking (the write path) ------------------------------------------------------------------------

-- The statement that logs the buckets that changed points fall in, and the next bucket of each (whose
-- prefix instant they may change), one row per (vehicle, bucket), for the points of p_points (a relation:
-- vehicle_id, ts, lon, lat). Text, so the triggers can run it on their transition tables themselves:
-- passing them on as arrays (array_agg, then unnest) cost ~2 us per point of every COPY.
CREATE OR REPLACE FUNCTION geostream_mark_statement(p_points text)
RETURNS text
LANGUAGE sql IMMUTABLE
RETURN format($sql$
    INSERT INTO trajectory_dirty (vehicle_id, bucket, min_lon, min_lat, max_lon, max_lat, min_ts, max_ts)
    SELECT c.vehicle_id, geostream_bucket(c.ts + g.shift, s.bucket_width),
           min(c.lon), min(c.lat), max(c.lon), max(c.lat), min(c.ts), max(c.ts)
    FROM %s AS c
    CROSS JOIN trajectory_settings s
    CROSS JOIN LATERAL (VALUES (interval '0'), (s.max_gap)) AS g(shift)
    WHERE s.id
    GROUP BY 1, 2
$sql$, p_points);

CREATE OR REPLACE FUNCTION geostream_mark_dirty(
    p_vehicles text[], p_ts timestamptz[], p_lon float8[], p_lat float8[]
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE geostream_mark_statement('(SELECT * FROM unnest($1, $2, $3, $4) AS u(vehicle_id, ts, lon, lat))')
        USING p_vehicles, p_ts, p_lon, p_lat;
END
$$;

-- Statement-level triggers with transition tables: one statement per writer's statement, whatever its
-- size (EXECUTE sees the transition tables).
CREATE OR REPLACE FUNCTION geostream_points_inserted()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE geostream_mark_statement(
        '(SELECT n.vehicle_id, n.ts, n.lon, n.lat FROM new_points n WHERE geostream_valid_position(n.lon, n.lat))'
    );
    RETURN NULL;
END
$$;

-- INSERT ... ON CONFLICT DO UPDATE fires this for the rows that already existed: exact replays
-- change nothing and mark nothing.
CREATE OR REPLACE FUNCTION geostream_points_updated()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE geostream_mark_statement($points$(
        SELECT n.vehicle_id, n.ts, n.lon, n.lat
        FROM new_points n
        LEFT JOIN old_points o ON o.vehicle_id = n.vehicle_id AND o.ts = n.ts
        WHERE o.vehicle_id IS NULL
            OR (n.lon, n.lat, n.speed, n.heading) IS DISTINCT FROM (o.lon, o.lat, o.speed, o.heading)
        UNION ALL
        SELECT o.vehicle_id, o.ts, o.lon, o.lat  -- the key itself changed (a manual UPDATE)
        FROM old_points o
        LEFT JOIN new_points n ON n.vehicle_id = o.vehicle_id AND n.ts = o.ts
        WHERE n.vehicle_id IS NULL
    )$points$);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION geostream_points_deleted()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE geostream_mark_statement(
        '(SELECT o.vehicle_id, o.ts, o.lon, o.lat FROM old_points o WHERE geostream_valid_position(o.lon, o.lat))'
    );
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION geostream_points_truncated()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    TRUNCATE vehicle_trajectory_segments, vehicle_state, trajectory_dirty;
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

-- Every bucket of one vehicle's (or every vehicle's) stored points, logged for the segmenter.
CREATE OR REPLACE FUNCTION mark_trajectories_dirty(p_vehicle text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM (
        SELECT geostream_mark_dirty(array_agg(p.vehicle_id), array_agg(p.ts), array_agg(p.lon),
                                    array_agg(p.lat))
        FROM vehicle_points p
        WHERE (p_vehicle IS NULL OR p.vehicle_id = p_vehicle) AND geostream_valid_position(p.lon, p.lat)
        GROUP BY p.vehicle_id
    ) AS marked
$$;

-- -- Building ----------------------------------------------------------------------------------------

-- The valid instants of one vehicle's bucket: the build's input, and what decides that a bucket has no
-- segment. Inlined into the caller's plan (a range of the primary-key index).
CREATE OR REPLACE FUNCTION geostream_bucket_points(p_vehicle text, p_bucket timestamptz, p_width interval)
RETURNS TABLE (ts timestamptz, lon float8, lat float8)
LANGUAGE sql STABLE
AS $$
    SELECT p.ts, p.lon, p.lat
    FROM vehicle_points p
    WHERE p.vehicle_id = p_vehicle AND p.ts >= p_bucket AND p.ts < p_bucket + p_width
        AND geostream_valid_position(p.lon, p.lat)
$$;

-- The trajectory of each (vehicle, bucket) pair from the stored instants: a sequence set per bucket
-- holding at least one valid position (buckets without one are left out), prefixed with the last
-- instant before the bucket when it is within max_gap of the bucket's first one. One aggregate per
-- bucket over its index range, already in time order: one GROUP BY over all the buckets sorted every
-- point of the round by (vehicle, bucket, ts) first, a third of the build's time.
CREATE OR REPLACE FUNCTION geostream_build_segments(p_vehicles text[], p_buckets timestamptz[])
RETURNS TABLE (vehicle_id text, bucket timestamptz, trajectory tgeogpoint)
LANGUAGE sql STABLE
AS $$
    WITH s AS (
        SELECT bucket_width AS width, max_gap AS gap FROM trajectory_settings WHERE id
    ),
    todo AS (
        SELECT DISTINCT t.vehicle_id, t.bucket FROM unnest(p_vehicles, p_buckets) AS t(vehicle_id, bucket)
    ),
    first AS (
        SELECT t.vehicle_id, t.bucket, f.ts AS first_ts
        FROM todo t
        CROSS JOIN s
        CROSS JOIN LATERAL (
            SELECT b.ts FROM geostream_bucket_points(t.vehicle_id, t.bucket, s.width) AS b ORDER BY b.ts LIMIT 1
        ) AS f
    )
    SELECT f.vehicle_id, f.bucket, segment.trajectory
    FROM first f
    CROSS JOIN s
    CROSS JOIN LATERAL (
        SELECT appendInstant(tgeogpoint(ST_Point(a.lon, a.lat, 4326)::geography, a.ts), NULL::float8, s.gap
                             ORDER BY a.ts) AS trajectory
        FROM (
            (SELECT p.ts, p.lon, p.lat
             FROM vehicle_points p
             WHERE p.vehicle_id = f.vehicle_id AND p.ts < f.bucket AND p.ts >= f.first_ts - s.gap
                 AND geostream_valid_position(p.lon, p.lat)
             ORDER BY p.ts DESC
             LIMIT 1)
            UNION ALL
            SELECT b.ts, b.lon, b.lat FROM geostream_bucket_points(f.vehicle_id, f.bucket, s.width) AS b
        ) AS a
    ) AS segment
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

-- -- The segmenter's round ---------------------------------------------------------------------------

-- The newest valid point of a vehicle. Two probes, in order, and the first point found ends it: from
-- p_since on (a round passes the earliest time of the points it claimed), which reads only the
-- partitions from p_since on, and a point found there is the newest of all; then from the start, only
-- when the first found nothing (its newest points were deleted), which descends every day's index.
CREATE OR REPLACE FUNCTION geostream_latest_point(p_vehicle text, p_since timestamptz)
RETURNS TABLE (ts timestamptz, lon float8, lat float8, speed float8, heading float8)
LANGUAGE sql STABLE
AS $$
    SELECT p.*
    FROM (VALUES (coalesce(p_since, '-infinity')), ('-infinity')) AS b(since)
    CROSS JOIN LATERAL (
        SELECT q.ts, q.lon, q.lat, q.speed, q.heading
        FROM vehicle_points q
        WHERE q.vehicle_id = p_vehicle AND q.ts >= b.since AND geostream_valid_position(q.lon, q.lat)
        ORDER BY q.ts DESC
        LIMIT 1
    ) AS p
    LIMIT 1
$$;

-- One round: claims up to p_max_rows logged rows (only those with id <= p_upto_id when given; only
-- p_vehicle's when given), then, in the same statement and snapshot:
--   1. each touched vehicle's newest valid point becomes its vehicle_state (open bucket = its bucket;
--      the row goes when no valid point is left);
--   2. the touched buckets older than the open bucket, and the previous open bucket once passed, are
--      rebuilt in one GROUP BY and upserted; those left without a valid point, and any segment at or
--      after the open bucket, are deleted.
-- Rows logged after the statement's snapshot stay for the next round, so nothing is missed. Rounds
-- never overlap (a transaction-level advisory lock, also taken by rebuild_trajectories()); writers
-- take no lock the round holds.
CREATE OR REPLACE FUNCTION segmenter_round(
    p_max_rows integer DEFAULT 50000, p_vehicle text DEFAULT NULL, p_upto_id bigint DEFAULT NULL
)
RETURNS TABLE (claimed bigint, vehicles bigint, stored bigint, removed bigint)
LANGUAGE sql
AS $$
    SELECT pg_advisory_xact_lock(hashtext('geostream'), hashtext('segmenter-round'));

    -- Each vehicle's claimed rows travel with it as arrays, and vehicle_state is read by key: no step
    -- joins two of these CTEs, whose row estimates are guesses (a queue's statistics), so no plan can
    -- turn into a nested loop rescanning every claimed row once per vehicle.
    WITH s AS (
        SELECT bucket_width AS width, max_gap AS gap FROM trajectory_settings WHERE id
    ),
    picked AS (
        SELECT d.id FROM trajectory_dirty d
        WHERE (p_vehicle IS NULL OR d.vehicle_id = p_vehicle) AND (p_upto_id IS NULL OR d.id <= p_upto_id)
        ORDER BY d.id
        LIMIT p_max_rows
    ),
    claimed AS (
        DELETE FROM trajectory_dirty d USING picked WHERE d.id = picked.id
        RETURNING d.vehicle_id, d.bucket, d.min_lon, d.min_lat, d.max_lon, d.max_lat, d.min_ts, d.max_ts
    ),
    dirty AS (
        SELECT c.vehicle_id, c.bucket, min(c.min_lon) AS min_lon, min(c.min_lat) AS min_lat,
               max(c.max_lon) AS max_lon, max(c.max_lat) AS max_lat, min(c.min_ts) AS min_ts,
               max(c.max_ts) AS max_ts
        FROM claimed c
        GROUP BY 1, 2
    ),
    touched AS (
        SELECT d.vehicle_id, min(d.min_ts) AS since, array_agg(d.bucket) AS buckets,
               array_agg(d.min_lon) AS min_lon, array_agg(d.min_lat) AS min_lat, array_agg(d.max_lon) AS max_lon,
               array_agg(d.max_lat) AS max_lat, array_agg(d.min_ts) AS min_ts, array_agg(d.max_ts) AS max_ts
        FROM dirty d
        GROUP BY 1
    ),
    -- The newest valid point, the open bucket, and the vehicle_state row as it was before this round.
    latest AS (
        SELECT t.*, p.ts, p.lon, p.lat, p.speed, p.heading, geostream_bucket(p.ts, s.width) AS open_bucket,
               o.open_bucket AS old_bucket, o.open_xmin AS old_xmin, o.open_ymin AS old_ymin,
               o.open_xmax AS old_xmax, o.open_ymax AS old_ymax, o.open_tmin AS old_tmin, o.open_tmax AS old_tmax
        FROM touched t
        CROSS JOIN s
        LEFT JOIN LATERAL geostream_latest_point(t.vehicle_id, t.since) AS p ON true
        LEFT JOIN vehicle_state o ON o.vehicle_id = t.vehicle_id
    ),
    -- The open bucket's box: the rows logged for it (or for its prefix), plus the old box while the
    -- open bucket stays or moves one bucket on; rescanned only when a deletion moved it back.
    box AS (
        SELECT l.vehicle_id, l.ts, l.lon, l.lat, l.speed, l.heading, l.open_bucket, b.*
        FROM latest l
        CROSS JOIN s
        CROSS JOIN LATERAL (
            SELECT min(x.min_lon) AS min_lon, min(x.min_lat) AS min_lat, max(x.max_lon) AS max_lon,
                   max(x.max_lat) AS max_lat, min(x.min_ts) AS min_ts, max(x.max_ts) AS max_ts
            FROM (
                SELECT d.min_lon, d.min_lat, d.max_lon, d.max_lat, d.min_ts, d.max_ts
                FROM unnest(l.buckets, l.min_lon, l.min_lat, l.max_lon, l.max_lat, l.min_ts, l.max_ts)
                    AS d(bucket, min_lon, min_lat, max_lon, max_lat, min_ts, max_ts)
                WHERE d.bucket >= l.open_bucket
                UNION ALL
                SELECT l.old_xmin, l.old_ymin, l.old_xmax, l.old_ymax, l.old_tmin, l.old_tmax
                WHERE l.open_bucket BETWEEN l.old_bucket AND l.old_bucket + s.width
                UNION ALL
                SELECT min(q.lon), min(q.lat), max(q.lon), max(q.lat), min(q.ts), max(q.ts)
                FROM vehicle_points q
                WHERE l.open_bucket < l.old_bucket AND q.vehicle_id = l.vehicle_id
                    AND q.ts >= l.open_bucket - s.gap AND geostream_valid_position(q.lon, q.lat)
            ) AS x
        ) AS b
        WHERE l.ts IS NOT NULL
    ),
    saved AS (
        INSERT INTO vehicle_state AS st (
            vehicle_id, ts, lon, lat, speed, heading, open_bucket,
            open_xmin, open_ymin, open_xmax, open_ymax, open_tmin, open_tmax
        )
        SELECT b.vehicle_id, b.ts, b.lon, b.lat, b.speed, b.heading, b.open_bucket,
               b.min_lon, b.min_lat, b.max_lon, b.max_lat, b.min_ts, b.max_ts
        FROM box b
        ORDER BY b.vehicle_id
        ON CONFLICT (vehicle_id) DO UPDATE
        SET ts = excluded.ts, lon = excluded.lon, lat = excluded.lat, speed = excluded.speed,
            heading = excluded.heading, open_bucket = excluded.open_bucket,
            open_xmin = excluded.open_xmin, open_ymin = excluded.open_ymin, open_xmax = excluded.open_xmax,
            open_ymax = excluded.open_ymax, open_tmin = excluded.open_tmin, open_tmax = excluded.open_tmax
        RETURNING 1
    ),
    forgotten AS (
        DELETE FROM vehicle_state st USING latest l WHERE st.vehicle_id = l.vehicle_id AND l.ts IS NULL
        RETURNING 1
    ),
    todo AS (
        SELECT l.vehicle_id, b.bucket
        FROM latest l
        CROSS JOIN LATERAL (
            SELECT d.bucket FROM unnest(l.buckets) AS d(bucket) WHERE d.bucket < l.open_bucket
            UNION
            SELECT l.old_bucket WHERE l.old_bucket < l.open_bucket
        ) AS b
    ),
    built AS (
        SELECT b.*
        FROM (SELECT array_agg(t.vehicle_id) AS vehicles, array_agg(t.bucket) AS buckets FROM todo t) AS t
        CROSS JOIN LATERAL geostream_build_segments(t.vehicles, t.buckets) AS b
    ),
    stored AS (
        INSERT INTO vehicle_trajectory_segments AS g (vehicle_id, bucket, trajectory, extent, num_instants)
        SELECT b.vehicle_id, b.bucket, b.trajectory, stbox(b.trajectory::tgeompoint), numInstants(b.trajectory)
        FROM built b
        ORDER BY b.vehicle_id, b.bucket
        ON CONFLICT (vehicle_id, bucket) DO UPDATE
        SET trajectory = excluded.trajectory, extent = excluded.extent, num_instants = excluded.num_instants
        RETURNING 1
    ),
    -- A rebuilt bucket left without a valid point (what geostream_build_segments leaves out).
    emptied AS (
        DELETE FROM vehicle_trajectory_segments g
        USING todo t, s
        WHERE g.vehicle_id = t.vehicle_id AND g.bucket = t.bucket
            AND NOT EXISTS (SELECT 1 FROM geostream_bucket_points(t.vehicle_id, t.bucket, s.width))
        RETURNING 1
    ),
    ahead AS (
        DELETE FROM vehicle_trajectory_segments g
        USING latest l
        WHERE g.vehicle_id = l.vehicle_id AND g.bucket >= coalesce(l.open_bucket, '-infinity')
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM claimed), (SELECT count(*) FROM latest), (SELECT count(*) FROM stored),
           (SELECT count(*) FROM emptied) + (SELECT count(*) FROM ahead)
$$;

-- Rounds until every row logged before the call is processed; returns the segments stored. For
-- tests, benchmarks and scripts (the segmenter service runs the rounds otherwise).
CREATE OR REPLACE FUNCTION segmenter_catch_up(p_batch integer DEFAULT 50000)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    v_upto bigint := (SELECT max(id) FROM trajectory_dirty);
    v_round record;
    v_stored bigint := 0;
BEGIN
    LOOP
        SELECT * INTO v_round FROM segmenter_round(p_batch, NULL, v_upto);
        v_stored := v_stored + v_round.stored;
        EXIT WHEN v_round.claimed < p_batch;
    END LOOP;
    RETURN v_stored;
END
$$;

-- Depth of the segmenter's queue: logged rows, and when the oldest was logged.
CREATE OR REPLACE FUNCTION trajectory_queue_status()
RETURNS TABLE (queued bigint, oldest timestamptz)
LANGUAGE sql STABLE
AS $$
    SELECT count(*), min(d.marked_at) FROM trajectory_dirty d
$$;

-- Rebuild the trajectories of one vehicle, or of every vehicle (after changing trajectory_settings),
-- committing after each vehicle: writers are never blocked (they only append to trajectory_dirty),
-- and an interrupted rebuild keeps what it did. A procedure: CALL rebuild_trajectories();
CREATE OR REPLACE PROCEDURE rebuild_trajectories(p_vehicle text DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    v_vehicle text;
BEGIN
    FOR v_vehicle IN
        SELECT x.vehicle_id FROM (
            SELECT st.vehicle_id FROM vehicle_state st
            UNION
            SELECT DISTINCT g.vehicle_id FROM vehicle_trajectory_segments g
            UNION
            SELECT DISTINCT d.vehicle_id FROM trajectory_dirty d
        ) AS x
        WHERE p_vehicle IS NULL OR x.vehicle_id = p_vehicle
        ORDER BY 1
    LOOP
        -- Segments of a former bucket width cannot be rebuilt in place: they go.
        DELETE FROM vehicle_trajectory_segments g
        USING trajectory_settings s
        WHERE s.id AND g.vehicle_id = v_vehicle AND g.bucket <> geostream_bucket(g.bucket, s.bucket_width);
        INSERT INTO trajectory_dirty (vehicle_id, bucket)
        SELECT g.vehicle_id, g.bucket FROM vehicle_trajectory_segments g WHERE g.vehicle_id = v_vehicle;
        PERFORM mark_trajectories_dirty(v_vehicle);
        PERFORM segmenter_round(2147483647, v_vehicle);
        COMMIT;
    END LOOP;
END
$$;

-- -- Retention ---------------------------------------------------------------------------------------

-- Rows older than p_cutoff outside the day partitions (default partitions, vehicle_state); the day
-- partitions themselves are dropped whole (drop_partitions_before, or the segmenter one by one).
CREATE OR REPLACE FUNCTION trim_before(p_cutoff date)
RETURNS bigint
LANGUAGE sql
AS $$
    WITH cutoff AS (
        SELECT p_cutoff::timestamp AT TIME ZONE 'UTC' AS ts
    ),
    points AS (
        DELETE FROM vehicle_points_default p USING cutoff WHERE p.ts < cutoff.ts RETURNING 1
    ),
    segments AS (
        DELETE FROM vehicle_trajectory_segments_default g USING cutoff WHERE g.bucket < cutoff.ts RETURNING 1
    ),
    states AS (
        DELETE FROM vehicle_state st USING cutoff WHERE st.ts < cutoff.ts RETURNING 1
    )
    SELECT (SELECT count(*) FROM points) + (SELECT count(*) FROM segments) + (SELECT count(*) FROM states)
$$;

-- Retention in one call: drops every day partition before p_cutoff and trims the rest; returns the
-- partitions dropped.
CREATE OR REPLACE FUNCTION drop_partitions_before(p_cutoff date)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_partition record;
    v_dropped integer := 0;
BEGIN
    FOR v_partition IN SELECT * FROM expired_partitions(p_cutoff) LOOP
        EXECUTE format('DROP TABLE %I', v_partition.partition_name);
        v_dropped := v_dropped + 1;
    END LOOP;
    PERFORM trim_before(p_cutoff);
    RETURN v_dropped;
END
$$;

-- After replacing the unpartitioned segments (see the top of this file): log every bucket again.
DO $$
BEGIN
    IF to_regclass('pg_temp.geostream_rebuild_all') IS NOT NULL THEN
        PERFORM mark_trajectories_dirty();
        DROP TABLE pg_temp.geostream_rebuild_all;
    END IF;
END
$$;

-- Raw instants: one row per (vehicle, event time). The Flink JDBC sink upserts here
--   INSERT ... ON CONFLICT (vehicle_id, ts) DO UPDATE SET ...
-- so a replayed or duplicated record overwrites its own row instead of adding one.
-- No CHECK constraints on purpose: a bad value must never make the writer's batch fail. Positions
-- outside [-180, 180] x [-90, 90] (or NULL/NaN) are kept here but left out of trajectories.
--
-- Partitioned by time: one partition per UTC day (vehicle_points_pYYYYMMDD), created ahead by the
-- segmenter (ensure_partitions()), dropped whole by retention (drop_partitions_before()). Points
-- outside every day partition (an old backfill) land in vehicle_points_default, from which
-- ensure_partitions() moves them into their day once it is created.

-- Before partitioning, vehicle_points was a plain table: keep its rows (moved below, once the
-- partition functions exist) and drop the triggers that maintained trajectories synchronously.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_class
        WHERE oid = to_regclass('public.vehicle_points') AND relkind = 'r'
    ) THEN
        ALTER TABLE vehicle_points RENAME TO vehicle_points_unpartitioned;
        ALTER TABLE vehicle_points_unpartitioned RENAME CONSTRAINT vehicle_points_pkey
            TO vehicle_points_unpartitioned_pkey;
        DROP TRIGGER IF EXISTS vehicle_points_trajectory_insert ON vehicle_points_unpartitioned;
        DROP TRIGGER IF EXISTS vehicle_points_trajectory_update ON vehicle_points_unpartitioned;
        DROP TRIGGER IF EXISTS vehicle_points_trajectory_delete ON vehicle_points_unpartitioned;
        DROP TRIGGER IF EXISTS vehicle_points_trajectory_truncate ON vehicle_points_unpartitioned;
        DROP INDEX IF EXISTS vehicle_points_ts_brin;
    END IF;
END
$$;

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
) PARTITION BY RANGE (ts);

CREATE TABLE IF NOT EXISTS vehicle_points_default PARTITION OF vehicle_points DEFAULT;

COMMENT ON TABLE vehicle_points IS
    'Raw vehicle positions (locations_topic), keyed by (vehicle_id, ts), one partition per UTC day; '
    'trajectories are derived from it by the segmenter.';

CREATE OR REPLACE FUNCTION geostream_valid_position(lon float8, lat float8)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90, false);

COMMENT ON FUNCTION geostream_valid_position(float8, float8) IS
    'True for a usable WGS 84 position (NULL, NaN and out-of-range values are not).';

-- -- Day partitions ----------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION geostream_day_partition(p_table text, p_day date)
RETURNS text
LANGUAGE sql IMMUTABLE
RETURN p_table || '_p' || to_char(p_day, 'YYYYMMDD');

-- The partitioned tables managed by day, with their partition key.
CREATE OR REPLACE FUNCTION geostream_partitioned_tables()
RETURNS TABLE (table_name text, key_column text)
LANGUAGE sql IMMUTABLE
AS $$
    VALUES ('vehicle_points', 'ts'), ('vehicle_trajectory_segments', 'bucket')
$$;

-- Creates p_table's partition of one UTC day unless it exists. Rows of that day waiting in the
-- default partition are moved into it first (the default partition is locked against writers for
-- that short time; writers of the other partitions are not blocked: ATTACH takes only a
-- SHARE UPDATE EXCLUSIVE lock on the parent). Returns true when it created the partition.
CREATE OR REPLACE FUNCTION geostream_ensure_day_partition(p_table text, p_column text, p_day date)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    v_name text := geostream_day_partition(p_table, p_day);
    v_from timestamptz := p_day::timestamp AT TIME ZONE 'UTC';
    v_to timestamptz := (p_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(v_name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', v_name, p_table);
    EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', p_table || '_default');
    EXECUTE format(
        'WITH moved AS (DELETE FROM %1$I WHERE %2$I >= $1 AND %2$I < $2 RETURNING *) '
        'INSERT INTO %3$I SELECT * FROM moved',
        p_table || '_default', p_column, v_name
    ) USING v_from, v_to;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   p_table, v_name, v_from, v_to);
    RETURN true;
END
$$;

-- Day partitions of every managed table for [p_from, p_to]; returns how many were created.
CREATE OR REPLACE FUNCTION ensure_partitions(p_from date, p_to date)
RETURNS integer
LANGUAGE sql
AS $$
    SELECT count(*) FILTER (WHERE geostream_ensure_day_partition(t.table_name, t.key_column, d::date))::integer
    FROM geostream_partitioned_tables() AS t
    CROSS JOIN generate_series(p_from, p_to, interval '1 day') AS d
    WHERE EXISTS (SELECT 1 FROM pg_partitioned_table p WHERE p.partrelid = to_regclass(t.table_name))
$$;

-- Day partitions entirely before p_cutoff (what retention drops), oldest first.
CREATE OR REPLACE FUNCTION expired_partitions(p_cutoff date)
RETURNS TABLE (table_name text, partition_name text, day date)
LANGUAGE sql STABLE
AS $$
    SELECT t.table_name, c.relname::text, to_date(right(c.relname, 8), 'YYYYMMDD')
    FROM geostream_partitioned_tables() AS t
    JOIN pg_inherits i ON i.inhparent = to_regclass(t.table_name)
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE c.relname ~ '_p[0-9]{8}$' AND to_date(right(c.relname, 8), 'YYYYMMDD') < p_cutoff
    ORDER BY 3, 1
$$;

-- Move the rows of the plain table that preceded partitioning (see the top of this file).
DO $$
BEGIN
    IF to_regclass('public.vehicle_points_unpartitioned') IS NOT NULL THEN
        PERFORM ensure_partitions(d, d)
        FROM (SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date AS d FROM vehicle_points_unpartitioned) AS days;
        INSERT INTO vehicle_points SELECT * FROM vehicle_points_unpartitioned ON CONFLICT DO NOTHING;
        DROP TABLE vehicle_points_unpartitioned CASCADE;  -- the insert view: 030 creates it again
    END IF;
END
$$;

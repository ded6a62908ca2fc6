-- Geostream MobilityDB schema, part 1: extensions.
-- Every file in sql/ is idempotent: the database container's init runs them once in name order
-- (/docker-entrypoint-initdb.d), and scripts/localservers/postgres.py applies them at each start.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS mobilitydb CASCADE;

-- MobilityDB 1.2 declares the final function of its appendInstant/appendSequence aggregates
-- non-strict but dereferences the state without a NULL check: aggregating zero rows
-- (SELECT appendInstant(...) FROM <empty>) crashes the server process, and PostgreSQL then restarts
-- every connection. Declared STRICT, an empty aggregate simply yields NULL.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.proname = 'temporal_append_finalfn' AND NOT p.proisstrict
    LOOP
        EXECUTE format('ALTER FUNCTION %s STRICT', f);
    END LOOP;
END
$$;

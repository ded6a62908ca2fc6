-- Device status (the vehicle-speed prototype's /api/devices endpoints), over what the pipeline already
-- stores: vehicle_latest_positions holds each device's newest point, vehicle_points its history.

-- Every device (or only p_device) with its newest point and whether it has been silent for longer than
-- p_offline_after. A point dated ahead of p_now (within the accepted future skew) counts as just seen.
DROP FUNCTION IF EXISTS device_status(timestamptz, interval);
CREATE OR REPLACE FUNCTION device_status(
    p_now timestamptz, p_offline_after interval, p_device text DEFAULT NULL
)
RETURNS TABLE (device_id text, last_seen timestamptz, age interval, online boolean,
               lon float8, lat float8, speed float8, heading float8)
LANGUAGE sql STABLE
AS $$
    SELECT s.vehicle_id, s.ts, greatest(p_now - s.ts, interval '0'),
           p_now - s.ts <= p_offline_after, s.lon, s.lat, s.speed, s.heading
    FROM vehicle_latest_positions s
    WHERE p_device IS NULL OR s.vehicle_id = p_device
    ORDER BY s.vehicle_id
$$;

-- One device's points in [p_start, p_end], oldest first.
CREATE OR REPLACE FUNCTION device_history(
    p_device text, p_start timestamptz, p_end timestamptz, p_limit integer
)
RETURNS TABLE (ts timestamptz, lon float8, lat float8, speed float8, heading float8, battery float8)
LANGUAGE sql STABLE
AS $$
    SELECT p.ts, p.lon, p.lat, p.speed, p.heading, p.battery
    FROM vehicle_points p
    WHERE p.vehicle_id = p_device AND p.ts BETWEEN p_start AND p_end
    ORDER BY p.ts
    LIMIT p_limit
$$;

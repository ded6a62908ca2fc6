#!/bin/sh
# Makes Debian's MobilityDB 1.2.0 installable on PostgreSQL >= 17.7, which validates operator commutator
# pairs when an extension is created, then proves it: a throw-away cluster must CREATE EXTENSION
# mobilitydb. Upstream fixed both declarations the same way after 1.2.0:
#  - span_intersection(datespanset, date) is declared RETURNS date, its C function returns a datespanset
#    (the "*" operator on it then fails: "commutator operator * does not return the same data type");
#  - the ttext "#>" operators name "#<=" as their commutator instead of "#<" ("commutator operator #<
#    is already the commutator of operator #>").
set -eu

for script in /usr/share/postgresql/17/extension/mobilitydb--*.sql; do
    awk '
        /^CREATE FUNCTION span_intersection\(datespanset, date\)$/ { fix_return = 1; print; next }
        fix_return && /^  RETURNS date$/ { print "  RETURNS datespanset"; fix_return = 0; next }
        { fix_return = 0 }
        /^CREATE OPERATOR / { op = $3; ttext = 0 }
        /ARG = ttext/ { ttext = 1 }
        op == "#>" && ttext && /^  COMMUTATOR = #<=$/ { print "  COMMUTATOR = #<"; next }
        { print }
    ' "$script" >"$script.fixed"
    cat "$script.fixed" >"$script"
    rm -f "$script.fixed"
done

data=$(mktemp -d)
chown postgres:postgres "$data"
gosu postgres initdb -D "$data/pg" -A trust >/dev/null
gosu postgres pg_ctl -D "$data/pg" -w -l "$data/log" \
    -o "-c listen_addresses='' -c unix_socket_directories=$data -c shared_preload_libraries=postgis-3" start >/dev/null
status=0
gosu postgres psql -h "$data" -d postgres -v ON_ERROR_STOP=1 -qAt \
    -c 'CREATE EXTENSION mobilitydb CASCADE' \
    -c "SELECT mobilitydb_version(), asText(tgeogpoint '[Point(1 2)@2000-01-01, Point(1 3)@2000-01-02]')" ||
    status=$?
gosu postgres pg_ctl -D "$data/pg" -m fast -w stop >/dev/null
[ "$status" = 0 ] || cat "$data/log" >&2
rm -rf "$data"
exit "$status"

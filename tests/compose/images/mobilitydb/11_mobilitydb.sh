# shellcheck shell=bash disable=SC2154
# Sourced by docker-entrypoint.sh on first start, as in the mobilitydb/mobilitydb image: preload PostGIS
# (MobilityDB needs it), then MobilityDB in a template database and in $POSTGRES_DB.
set -e
echo "shared_preload_libraries = 'postgis-3.so'" >>"$PGDATA/postgresql.conf"
export PGUSER="$POSTGRES_USER"
"${psql[@]}" <<-'EOSQL'
	CREATE DATABASE template_mobilitydb IS_TEMPLATE true;
EOSQL
for db in template_mobilitydb "$POSTGRES_DB"; do
    echo "Loading MobilityDB extensions into $db"
    # The preload above takes effect at the next server start: load PostGIS explicitly meanwhile.
    "${psql[@]}" --dbname="$db" <<-'EOSQL'
		CREATE EXTENSION IF NOT EXISTS postgis;
		LOAD 'postgis-3.so';
		CREATE EXTENSION IF NOT EXISTS mobilitydb;
	EOSQL
done

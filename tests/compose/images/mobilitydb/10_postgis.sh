# shellcheck shell=bash disable=SC2154
# Sourced by docker-entrypoint.sh on first start, as in the postgis/postgis image: PostGIS in a
# template database and in $POSTGRES_DB.
set -e
export PGUSER="$POSTGRES_USER"
"${psql[@]}" <<-'EOSQL'
	CREATE DATABASE template_postgis IS_TEMPLATE true;
EOSQL
for db in template_postgis "$POSTGRES_DB"; do
    echo "Loading PostGIS extensions into $db"
    "${psql[@]}" --dbname="$db" <<-'EOSQL'
		CREATE EXTENSION IF NOT EXISTS postgis;
		CREATE EXTENSION IF NOT EXISTS postgis_topology;
		CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;
		CREATE EXTENSION IF NOT EXISTS postgis_tiger_geocoder;
	EOSQL
done

#!/usr/bin/env bash
# Entrypoint of the MobilityDB stand-in, behaving like the official postgres image's:
#  - started as root, it prepares $PGDATA and /var/run/postgresql and re-executes itself as postgres;
#  - on an empty $PGDATA it runs initdb (superuser $POSTGRES_USER, password $POSTGRES_PASSWORD, options
#    $POSTGRES_INITDB_ARGS), allows network logins with $POSTGRES_HOST_AUTH_METHOD (scram-sha-256),
#    creates $POSTGRES_DB and runs /docker-entrypoint-initdb.d/* in name order (*.sh executed when
#    executable, else sourced with the `psql` array set; *.sql and *.sql.gz fed to psql) against a server
#    that listens on its unix socket only;
#  - then it execs the server.
set -Eeo pipefail

# VAR or VAR_FILE (Docker secrets), never both.
file_env() {
    local var=$1 file_var="${1}_FILE" def=${2:-} val
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        echo >&2 "error: both $var and $file_var are set (but are exclusive)"
        exit 1
    fi
    val=$def
    if [ -n "${!var:-}" ]; then
        val=${!var}
    elif [ -n "${!file_var:-}" ]; then
        val=$(<"${!file_var}")
    fi
    export "$var"="$val"
    unset "$file_var"
}

process_init_file() {
    local f=$1
    case "$f" in
    *.sh)
        if [ -x "$f" ]; then
            echo "$0: running $f"
            "$f"
        else
            echo "$0: sourcing $f"
            # shellcheck disable=SC1090
            . "$f"
        fi
        ;;
    *.sql)
        echo "$0: running $f"
        "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f"
        ;;
    *.sql.gz)
        echo "$0: running $f"
        gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB"
        ;;
    *) echo "$0: ignoring $f" ;;
    esac
    echo
}

init_database() {
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
        cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD to a non-empty value for the superuser, or
       POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password (not recommended).
EOM
        exit 1
    fi
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS holds several options
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        $POSTGRES_INITDB_ARGS
    printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"

    export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start

    psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [ "$POSTGRES_DB" != postgres ]; then
        "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db";
		EOSQL
        echo
    fi
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        process_init_file "$f"
    done

    pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo
    echo 'PostgreSQL init process complete; ready for start up.'
    echo
}

if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ]; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=}"

    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$PGDATA" /var/run/postgresql
        chown -R postgres:postgres "$PGDATA"
        chmod 700 "$PGDATA"
        chown postgres:postgres /var/run/postgresql
        chmod 3777 /var/run/postgresql
        exec gosu postgres "${BASH_SOURCE[0]}" "$@"
    fi

    if [ -s "$PGDATA/PG_VERSION" ]; then
        echo
        echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
        echo
    else
        init_database
    fi
fi

exec "$@"

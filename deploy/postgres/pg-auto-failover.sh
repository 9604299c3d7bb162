#!/usr/bin/env bash
# Entry point of a PostgreSQL container under pg_auto_failover (docker-compose.yml), as the local
# cluster runs it (scripts/cluster/ha-up.ts): `monitor`, or `node` for one of a shard's pair.
#
#   node: FORMATION (shard0, shard1, ...) and NODE_NAME (its compose service name) in the env.
#
# The first start creates the node (`pg_autoctl create`; a node's first keeper to register
# initialises the primary, the other clones it with pg_basebackup as its synchronous standby),
# applies the failover timings, and every start then runs the keeper in the foreground.
# Authentication is `trust` inside the compose network (no port is published); see
# docs/failure.md before exposing a node. Traffic between nodes is TLS with self-signed certs.
set -euo pipefail

mode="${1:?usage: pg-auto-failover.sh monitor|node}"
export PGDATA=/var/lib/postgresql/data/pgdata
export XDG_CONFIG_HOME=/var/lib/postgresql/data/autoctl/config
export XDG_DATA_HOME=/var/lib/postgresql/data/autoctl/data
MONITOR="postgres://autoctl_node@monitor:5432/pg_auto_failover?sslmode=require"

mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"
chown -R postgres:postgres /var/lib/postgresql/data
as_pg() { gosu postgres "$@"; }

if [ ! -f "$XDG_CONFIG_HOME/pg_autoctl$PGDATA/pg_autoctl.cfg" ]; then
  case "$mode" in
    monitor)
      as_pg pg_autoctl create monitor --pgdata "$PGDATA" --pgport 5432 --hostname monitor --auth trust --ssl-self-signed
      # The same failover timings as the local cluster (scripts/cluster/ha-engine.ts MONITOR_SETTINGS).
      cat >> "$PGDATA/postgresql.conf" <<'CONF'
pgautofailover.health_check_period = 1000
pgautofailover.health_check_timeout = 1000
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = 500
pgautofailover.node_considered_unhealthy_timeout = 2000
pgautofailover.primary_demote_timeout = 5000
CONF
      ;;
    node)
      : "${FORMATION:?FORMATION must be set}" "${NODE_NAME:?NODE_NAME must be set}"
      until as_pg psql -qAtc 'select 1' "$MONITOR" >/dev/null 2>&1; do sleep 1; done
      as_pg pg_autoctl create formation --monitor "$MONITOR" --formation "$FORMATION" --kind pgsql --dbname shorten --enable-secondary 2>/dev/null || true
      as_pg pg_autoctl create postgres --pgdata "$PGDATA" --pgport 5432 --hostname "$NODE_NAME" --name "$NODE_NAME" \
        --formation "$FORMATION" --monitor "$MONITOR" --dbname shorten --auth trust --ssl-self-signed --pg-hba-lan
      # A primary alone (monitor and standby both unreachable) demotes itself after 3 s, before
      # the monitor (primary_demote_timeout 5 s) may promote its standby.
      as_pg pg_autoctl config set --pgdata "$PGDATA" timeout.network_partition_timeout 3
      printf '%s\n' "wal_sender_timeout = '5s'" "wal_keep_size = '256MB'" >> "$PGDATA/postgresql.conf"
      ;;
    *) echo "pg-auto-failover.sh: unknown mode $mode" >&2; exit 2 ;;
  esac
  # `create` without --run may leave PostgreSQL running; the keeper below starts it itself.
  as_pg pg_ctl -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
fi
exec gosu postgres pg_autoctl run --pgdata "$PGDATA"

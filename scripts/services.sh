#!/usr/bin/env bash
# Starts the local services a command needs, idempotently: `services.sh postgres`.
# PostgreSQL: the Debian cluster, a `tawasul` role and a `tawasul_test` database on 127.0.0.1.
set -euo pipefail
cd /  # runuser drops to postgres, who may not be able to read the current directory

start_postgres() {
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null
  fi
  # Parallel test workers each hold a few pools of connections: room for them.
  if [ "$(pg_conftool "$version" main show max_connections 2>/dev/null | awk '{print $3}')" != "400" ]; then
    pg_conftool "$version" main set max_connections 400
    pg_ctlcluster "$version" main stop 2>/dev/null || true
  fi
  if ! pg_lsclusters -h | awk '$1=="'"$version"'" && $2=="main" {print $4}' | grep -qx online; then
    pg_ctlcluster "$version" main start
  fi
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 && break
    sleep 0.2
  done
  local psql=(runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtAX)
  if [ -z "$("${psql[@]}" -c "select 1 from pg_roles where rolname = 'tawasul'")" ]; then
    "${psql[@]}" -c "create role tawasul login createdb password 'tawasul'"
  fi
  # Parallel test workers create a database each.
  "${psql[@]}" -c "alter role tawasul createdb"
  if [ -z "$("${psql[@]}" -c "select 1 from pg_database where datname = 'tawasul_test'")" ]; then
    "${psql[@]}" -c "create database tawasul_test owner tawasul"
  fi
}

for service in "$@"; do
  case "$service" in
    postgres) start_postgres ;;
    *) echo "services.sh: unknown service $service" >&2; exit 2 ;;
  esac
done

#!/bin/sh
# Restores a backup made by backup.sh: checks its MANIFEST, then puts back the settings file,
# the data directory and (when the backup has one and DATABASE_URL is set) the database.
# Stop the hub (or every service) first, and start it again afterwards.
#
#   infra/scripts/restore.sh BACKUP [--force]
#
# BACKUP is a directory backup.sh wrote (BACKUP_DIR/mcphub-<time>). Environment as for
# backup.sh: MCPHUB_SETTING_PATH, DATA_DIR, DATABASE_URL. Without --force it refuses to
# overwrite a non-empty data directory or a database that already has MCPHub's tables.
set -eu

die() { echo "restore: $*" >&2; exit 1; }

backup=""
force=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$backup" ] || die "one backup at a time"; backup="$1"; shift ;;
  esac
done
[ -n "$backup" ] || die "usage: restore.sh BACKUP [--force]"
[ -d "$backup" ] || die "$backup is not a backup directory"
[ -f "$backup/MANIFEST" ] || die "$backup has no MANIFEST: not a complete backup"
(cd "$backup" && sha256sum --check --quiet MANIFEST) || die "$backup does not match its MANIFEST (damaged or altered)"

settings="${MCPHUB_SETTING_PATH:-./mcp_settings.json}"
data_dir="${DATA_DIR:-./data}"

if [ -f "$backup/database.dump" ]; then
  [ -n "${DATABASE_URL:-}" ] || die "the backup holds a database dump: set DATABASE_URL to the (empty) database to restore it into"
  command -v pg_restore >/dev/null 2>&1 || die "pg_restore is needed (Debian: apt-get install postgresql-client)"
  existing="$(psql "$DATABASE_URL" -Atc "select count(*) from information_schema.tables where table_schema = 'public'")" \
    || die "cannot reach DATABASE_URL"
  if [ "$existing" != "0" ] && [ -z "$force" ]; then
    die "the database already has $existing tables; restore into an empty one, or --force to replace them"
  fi
  pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction \
    --dbname="$DATABASE_URL" "$backup/database.dump" || die "pg_restore failed; the database is unchanged"
  echo "restore: database restored"
fi

if [ -f "$backup/data.tar.gz" ]; then
  if [ -d "$data_dir" ] && [ -n "$(ls -A "$data_dir")" ]; then
    [ -n "$force" ] || die "$data_dir is not empty; --force replaces its contents"
    find "$data_dir" -mindepth 1 -delete
  fi
  mkdir -p "$data_dir"
  tar -C "$data_dir" -xzf "$backup/data.tar.gz"
  echo "restore: data directory restored to $data_dir"
fi

mkdir -p "$(dirname "$settings")"
cp -p "$backup/mcp_settings.json" "$settings"
echo "restore: settings restored to $settings"

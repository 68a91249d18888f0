#!/bin/sh
# Backs up an MCPHub installation: the settings file, the data directory, and the database
# (pg_dump of DATABASE_URL; without it the embedded database is inside the data directory).
# Each run writes BACKUP_DIR/mcphub-<UTC time>/ with a MANIFEST of sha256 sums, written under
# a temporary name and renamed when complete, then removes backups older than RETENTION_DAYS.
# Meant for cron or a systemd timer (infra/systemd/mcphub-backup.timer).
#
#   infra/scripts/backup.sh [--backup-dir DIR] [--retention-days N]
#
# Environment (the hub's own names): MCPHUB_SETTING_PATH (./mcp_settings.json), DATA_DIR
# (./data), DATABASE_URL (optional), BACKUP_DIR (./backups), RETENTION_DAYS (14).
# With the embedded database, stop the hub first (systemctl stop mcphub): PGlite's files are
# only consistent while nothing writes them. A Postgres dump is consistent while it runs.
set -eu

die() { echo "backup: $*" >&2; exit 1; }

backup_dir="${BACKUP_DIR:-./backups}"
retention="${RETENTION_DAYS:-14}"
while [ $# -gt 0 ]; do
  case "$1" in
    --backup-dir) [ $# -ge 2 ] || die "--backup-dir needs a directory"; backup_dir="$2"; shift 2 ;;
    --retention-days) [ $# -ge 2 ] || die "--retention-days needs a number"; retention="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$retention" in ''|*[!0-9]*) die "RETENTION_DAYS must be a whole number of days, not '$retention'" ;; esac

settings="${MCPHUB_SETTING_PATH:-./mcp_settings.json}"
data_dir="${DATA_DIR:-./data}"
[ -f "$settings" ] || die "no settings file at $settings (set MCPHUB_SETTING_PATH)"

mkdir -p "$backup_dir"
name="mcphub-$(date -u +%Y%m%dT%H%M%SZ)"
target="$backup_dir/$name"
[ -e "$target" ] && die "$target exists already"
work="$backup_dir/.$name.partial"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

cp -p "$settings" "$work/mcp_settings.json"
if [ -d "$data_dir" ]; then
  tar -C "$data_dir" -czf "$work/data.tar.gz" .
fi
if [ -n "${DATABASE_URL:-}" ]; then
  command -v pg_dump >/dev/null 2>&1 || die "pg_dump is needed for DATABASE_URL (Debian: apt-get install postgresql-client)"
  # Custom format: compressed, and pg_restore can recreate every object in order.
  pg_dump --format=custom --no-owner --no-privileges --file="$work/database.dump" --dbname="$DATABASE_URL" \
    || die "pg_dump of DATABASE_URL failed"
fi
(cd "$work" && sha256sum -- * > MANIFEST)
mv "$work" "$target"
trap - EXIT
echo "backup: wrote $target ($(du -sh "$target" | cut -f1))"

# Retention: whole backups older than N days; 0 keeps only this one.
if [ "$retention" -eq 0 ]; then age=""; else age="-mtime +$((retention - 1))"; fi
# shellcheck disable=SC2086 # $age is empty or two words on purpose
find "$backup_dir" -mindepth 1 -maxdepth 1 -type d -name 'mcphub-*' ! -name "$name" $age -print \
  | while read -r old; do
      rm -rf "$old"
      echo "backup: removed $old (older than $retention days)"
    done

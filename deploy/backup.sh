#!/usr/bin/env bash
# Nightly backup of a fangkong installation (run from cron or deploy/fangkong-backup.timer as the owner).
#   FANGKONG_BACKUP_DIR  where the dumps go (default /var/backups/fangkong); copy it off the machine
#   FANGKONG_BACKUP_KEEP days of dumps kept (default 14)
#   PGDATABASE / PGHOST / PGUSER as for pg_dump (the owner role), FANGKONG_VAR_DIR the var folder
# The dump holds personal data: the folder is 0700 and the files 0600. The audit key and the anchors
# (var/audit_key, var/audit_anchors.jsonl) are copied beside it: without the key a restored audit log
# cannot be verified; keep the key's copy somewhere other than the dumps in production.
set -euo pipefail
dir=${FANGKONG_BACKUP_DIR:-/var/backups/fangkong}
keep=${FANGKONG_BACKUP_KEEP:-14}
var=${FANGKONG_VAR_DIR:-/var/lib/fangkong}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
umask 077
mkdir -p "$dir"
pg_dump --format=custom --no-owner --file "$dir/fangkong-$stamp.dump.part"
mv "$dir/fangkong-$stamp.dump.part" "$dir/fangkong-$stamp.dump"
[ -f "$var/audit_anchors.jsonl" ] && cp "$var/audit_anchors.jsonl" "$dir/audit_anchors-$stamp.jsonl"
find "$dir" -name 'fangkong-*.dump' -mtime +"$keep" -delete
find "$dir" -name 'audit_anchors-*.jsonl' -mtime +"$keep" -delete
echo "backup written: $dir/fangkong-$stamp.dump"

#!/bin/sh
# Writes the compose stack's secrets to .env (or the file named), random and readable by you only (0600):
# docker-compose reads .env beside docker-compose.yml, and refuses to start while one is missing. An existing
# file is kept as it is, so the secrets stay the same across restarts (docs/container.md#the-compose-stack).
#   sh scripts/compose-env.sh [file]
set -eu
cd "$(dirname "$0")/.."
out=${1:-.env}
if [ -e "$out" ]; then
  echo "$out exists: kept as it is (delete it for new secrets)" >&2
  exit 0
fi
# 32 random bytes as hex: no character that JSON, YAML or a shell would read specially.
rand() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
umask 077
tmp="$out.$$.tmp"
cat >"$tmp" <<EOF
# Made by scripts/compose-env.sh: the compose stack's secrets. Keep this file private (0600, never committed).
TIB_ADMIN_SECRET=$(rand)
TIB_SESSION_SECRET=$(rand)
PORTAL_API_SECRET=$(rand)
PORTAL_ADMIN_SECRET=$(rand)
LDAP_ADMIN_PASSWORD=$(rand)
DEX_CLIENT_SECRET=$(rand)
REDIS_PASSWORD=$(rand)
EOF
chmod 600 "$tmp"
mv "$tmp" "$out"
echo "wrote $out (0600): the admin API's Secret is TIB_ADMIN_SECRET there" >&2

#!/bin/sh
# `npm start`: the broker on the sample files (config/tib.conf.json, profiles/profiles.json), in memory.
# The sample social profiles need TYK_IB_SESSION_SECRET to sign their login cookies: for this local run a
# random one is made when none is set. In production set your own, the same on every replica.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${TYK_IB_SESSION_SECRET:-}" ] && [ -z "${SESSION_SECRET:-}" ]; then
  TYK_IB_SESSION_SECRET=$(node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url'))")
  export TYK_IB_SESSION_SECRET
  echo "npm start: TYK_IB_SESSION_SECRET is not set; using a random one for this run (set your own in production, the same on every replica)" >&2
fi
# A newcomer's first run: the samples are templates for real servers, so their logins fail on this machine.
echo "npm start: as shipped, the sample profiles are templates: they point at a directory (ldap://localhost:389) and an OpenID Provider (idp.example.com) that are not set up here, so their logins fail; for a sign-in that works on this machine, run npm run demo" >&2
# --max-semi-space-size=8: V8's young generation sized for logins (src/heap.ts NODE_FLAGS, docs/performance.md).
exec node --max-semi-space-size=8 dist/main.js -c config/tib.conf.json -p profiles/profiles.json "$@"

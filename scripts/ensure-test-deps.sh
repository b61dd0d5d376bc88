#!/usr/bin/env bash
# Installs the Debian packages the test suite starts for real (slapd, Redis, Chromium, xmlsec1, dockerd) when missing.
# Runs before `npm test`; a no-op when everything is already there.
set -euo pipefail
need=()
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapadd >/dev/null 2>&1 || need+=(ldap-utils)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# xmlsec1 signs and encrypts the SAML test IdP's answers independently of the broker's library.
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
# docker-compose (Debian's) checks docker-compose.yml with `docker-compose config`; no container engine is needed.
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
# test/slow/container.test.ts starts its own dockerd (docker.io; the package's service is never started) and
# makes the image's base with debootstrap (scripts/build-base-image.sh).
command -v dockerd >/dev/null 2>&1 || [ -x /usr/bin/dockerd ] || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# The packages' own system services are never used by the tests; keep them from starting.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"

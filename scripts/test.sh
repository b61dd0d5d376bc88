#!/usr/bin/env bash
# The test runs of `npm test`, after typecheck and lint (package.json), with any extra arguments passed to jest:
# - the whole suite (every Jest project) on Node 24, the target runtime and the image's (scripts/node24.sh);
# - the unit and integration projects on this machine's own Node too, when it is not 24 (Node 20 is still
#   supported: package.json's engines).
# On a machine whose Node is 24 the suite runs once. Both runs go to the end; the last line adds them up.
set -uo pipefail
cd "$(dirname "$0")/.."
jest=(--experimental-vm-modules node_modules/jest/bin/jest.js)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
runs=()
failed=0

# run LABEL NODE JEST_ARGS...: one jest run, its output shown and kept for the closing count.
run() {
  local label=$1 node=$2
  shift 2
  echo
  echo "=== jest on Node $("$node" --version) ($node): $label ==="
  # PATH first: what the tests start by name (npm run demo, ...) runs on the same Node.
  if PATH="$(dirname "$node"):$PATH" "$node" "${jest[@]}" "$@" 2>&1 | tee -a "$out"; then
    runs+=("Node $("$node" --version), $label: passed")
  else
    runs+=("Node $("$node" --version), $label: FAILED")
    failed=1
  fi
}

own=$(command -v node)
if [ "$(node -p 'process.versions.node.split(".")[0]')" = 24 ]; then
  run 'all projects' "$own" "$@"
else
  node24=$(bash scripts/node24.sh) || { echo 'npm test: could not install Node 24 (scripts/node24.sh)' >&2; exit 1; }
  # The paths and options given go first: --selectProjects takes every word after it as a project name.
  run 'unit and integration projects' "$own" "$@" --selectProjects unit integration
  run 'all projects' "$node24" "$@"
fi

echo
printf 'npm test: %s\n' "${runs[@]}"
# One closing count over all runs (each run's summary-reporter line is "tests: N passed, N failed, N skipped").
sed -n 's/^tests: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$out" |
  awk '{ p += $1; f += $2; s += $3 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }'
exit $failed

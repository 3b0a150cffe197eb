#!/usr/bin/env bash
# Draw the README's two diagrams from real builds, with spawnflow's own
# command: the demo's build (two volumes, ACTIVE), and a build made to
# fail at start-domain (SPAWNFLOW_FAIL_AT), which reverted. Run after
# `make demo`, on its configuration.
set -euo pipefail

DEMO_DIR=${DEMO_DIR:-.demo}
BIN=${BIN:-.venv/bin}
OUT=${OUT:-docs/images}
spawnflow() { "$BIN/spawnflow" --config-file "$DEMO_DIR/spawnflow.conf" "$@"; }
server() { spawnflow server list -f value -c ID -c Name | awk -v n="$1" '$2 == n {print $1; exit}'; }
say() { printf '$ spawnflow %s\n' "$*"; }

mkdir -p "$OUT"
IMAGE=$(spawnflow image list -f value -c ID -c Name | awk '$2 == "demo-image" {print $1; exit}')
BLANK=source=blank,destination=volume,size=1,delete-on-termination=true
say server create --flavor m1.tiny --image "$IMAGE" --block-device "$BLANK" failing
SPAWNFLOW_FAIL_AT=start-domain spawnflow server create --flavor m1.tiny \
    --image "$IMAGE" --block-device "$BLANK" failing 2>&1 || true
for name in demo failing; do
    file=$OUT/flow-$([ $name = demo ] && echo two-volumes || echo failed-reverted).png
    say flow graph "$(server $name)" --format png -o "$file"
    spawnflow flow graph "$(server $name)" --format png -o "$file"
done

#!/usr/bin/env bash
# Build one instance on the embedded default (SQLite, local image and volume
# stores, libvirt's test driver) with the spawnflow CLI, and show it.
set -euo pipefail

DEMO_DIR=${DEMO_DIR:-.demo}
BIN=${BIN:-.venv/bin}
mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
CONF="$DEMO_DIR/spawnflow.conf"
cat > "$CONF" <<CONF
[DEFAULT]
state_path = $DEMO_DIR/state
CONF
spawnflow() { "$BIN/spawnflow" --config-file "$CONF" "$@"; }
say() { printf '\n$ spawnflow %s\n' "$*"; }

say db sync
spawnflow db sync

# A small qcow2 disk stands in for a cloud image: the test driver boots
# nothing, but the image goes through the whole cache and overlay path.
qemu-img create -q -f qcow2 "$DEMO_DIR/demo-image.qcow2" 1G
say image create --file demo-image.qcow2 --disk-format qcow2 demo-image
IMAGE=$(spawnflow image create --file "$DEMO_DIR/demo-image.qcow2" \
    --disk-format qcow2 demo-image -f value -c id)
spawnflow image show "$IMAGE"

say server create --flavor m1.tiny --image "$IMAGE" \
    --block-device source=blank,destination=volume,size=1,delete-on-termination=true \
    --block-device source=image,destination=volume,size=1,uuid="$IMAGE" demo
spawnflow server create --flavor m1.tiny --image "$IMAGE" \
    --block-device source=blank,destination=volume,size=1,delete-on-termination=true \
    --block-device "source=image,destination=volume,size=1,uuid=$IMAGE" demo

say server list
spawnflow server list
SERVER=$(spawnflow server list -f value -c ID -c Name | awk '$2 == "demo" {print $1; exit}')
say flow show "$SERVER" -c Task -c State -c Duration -c Result
spawnflow flow show "$SERVER" -c Task -c State -c Duration -c Result
say flow graph "$SERVER" --format png -o demo-flow.png
spawnflow flow graph "$SERVER" --format png -o "$DEMO_DIR/demo-flow.png"
say volume list
spawnflow volume list
printf '\nThe build as a diagram: %s/demo-flow.png; live, in a browser: spawnflow --config-file %s dashboard\n' \
    "$DEMO_DIR" "$CONF"
printf 'State, database and config are in %s (spawnflow --config-file %s ...).\n' \
    "$DEMO_DIR" "$CONF"

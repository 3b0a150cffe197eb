#!/usr/bin/env bash
# Build one instance on the embedded default (SQLite, local image and volume
# stores, libvirt) with the spawnflow CLI, and show it.
#
# Where QEMU works, the instance is a real guest: the tiny test guest
# (build/tiny-guest), booted under qemu:///system, reading its user-data from
# its config drive; the build waits until it says it booted, and the guest
# stays up. Elsewhere the build runs on libvirt's test driver, which boots
# nothing, and says why.
set -euo pipefail

DEMO_DIR=${DEMO_DIR:-.demo}
BIN=${BIN:-.venv/bin}
TINY_GUEST=${TINY_GUEST:-build/tiny-guest/tiny-guest.qcow2}
mkdir -p "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
CONF="$DEMO_DIR/spawnflow.conf"
spawnflow() { "$BIN/spawnflow" --config-file "$CONF" "$@"; }
say() { printf '\n$ spawnflow %s\n' "$*"; }

# Why a real guest cannot be booted here, or nothing when it can.
real_guest_obstacle() {
    if [[ ! -f "$TINY_GUEST" ]]; then
        echo "the tiny guest image $TINY_GUEST is missing (make tiny-guest)"
    elif ! command -v qemu-system-x86_64 >/dev/null; then
        echo "qemu-system-x86_64 is not installed (make libvirt-qemu)"
    elif ! reason=$(tools/libvirt-qemu/start.sh 2>&1); then
        echo "qemu:///system is not available: $reason"
    fi
}

# Servers an earlier demo left (a running guest, maybe) go first, with the
# configuration they were built with.
if [[ -f "$CONF" ]] && "$BIN/spawnflow" --config-file "$CONF" server list >/dev/null 2>&1; then
    for old in $(spawnflow server list -f value -c ID); do
        say server delete "$old"
        spawnflow server delete "$old"
    done
fi

obstacle=$(real_guest_obstacle)
if [[ -z "$obstacle" ]]; then
    printf 'Real guest: the tiny guest on qemu:///system (QEMU emulation, TCG).\n'
    cat > "$CONF" <<CONF
[DEFAULT]
state_path = $DEMO_DIR/state
[libvirt]
connection_uri = qemu:///system
virt_type = qemu
wait_for_boot_timeout = 120
CONF
else
    printf 'Real guest: not here, %s; the build runs on libvirt'"'"'s test driver instead.\n' "$obstacle"
    cat > "$CONF" <<CONF
[DEFAULT]
state_path = $DEMO_DIR/state
CONF
fi

say db sync
spawnflow db sync

if [[ -z "$obstacle" ]]; then
    IMAGE_FILE=$TINY_GUEST
else
    # A small qcow2 disk stands in for a cloud image: the test driver boots
    # nothing, but the image goes through the whole cache and overlay path.
    IMAGE_FILE=$DEMO_DIR/demo-image.qcow2
    qemu-img create -q -f qcow2 "$IMAGE_FILE" 1G
fi
say image create --file "$(basename "$IMAGE_FILE")" --disk-format qcow2 demo-image
IMAGE=$(spawnflow image create --file "$IMAGE_FILE" \
    --disk-format qcow2 demo-image -f value -c id)
spawnflow image show "$IMAGE"

cat > "$DEMO_DIR/user-data" <<'USERDATA'
#cloud-config
# Hello from spawnflow's demo: this line came through the config drive.
USERDATA
say server create --flavor m1.tiny --image "$IMAGE" --user-data user-data \
    --block-device source=blank,destination=volume,size=1,delete-on-termination=true \
    --block-device source=image,destination=volume,size=1,uuid="$IMAGE" demo
spawnflow server create --flavor m1.tiny --image "$IMAGE" \
    --user-data "$DEMO_DIR/user-data" \
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
if [[ -z "$obstacle" ]]; then
    say console log "$SERVER" --lines 12
    spawnflow console log "$SERVER" --lines 12
    printf '\nThe guest is still running: virsh -c qemu:///system console instance-%s (Ctrl-] leaves);\n' "$SERVER"
    printf 'spawnflow --config-file %s server delete %s removes it.\n' "$CONF" "$SERVER"
fi
printf '\nThe build as a diagram: %s/demo-flow.png; live, in a browser: spawnflow --config-file %s dashboard\n' \
    "$DEMO_DIR" "$CONF"
printf 'State, database and config are in %s (spawnflow --config-file %s ...).\n' \
    "$DEMO_DIR" "$CONF"

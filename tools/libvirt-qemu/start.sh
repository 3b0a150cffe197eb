#!/usr/bin/env bash
# Start libvirt's daemons for qemu:///system when none answers (machines
# without systemd: containers, CI), and wait until it does. Idempotent;
# needs root and tools/libvirt-qemu/setup.sh. Exits non-zero with one line
# saying why when qemu:///system cannot be had.
set -euo pipefail

answers() { virsh -q -c qemu:///system version >/dev/null 2>&1; }

answers && exit 0
if [[ "$(id -u)" != 0 ]]; then
    echo "starting libvirtd needs root" >&2
    exit 1
fi
for daemon in virtlogd libvirtd; do
    if ! command -v "$daemon" >/dev/null; then
        echo "$daemon is not installed (make libvirt-qemu)" >&2
        exit 1
    fi
    pgrep -x "$daemon" >/dev/null || "$daemon" -d
done
for _ in $(seq 60); do
    answers && exit 0
    sleep 0.5
done
echo "libvirtd started but qemu:///system does not answer (see /var/log/libvirt/libvirtd.log)" >&2
exit 1

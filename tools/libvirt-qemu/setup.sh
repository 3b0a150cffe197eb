#!/usr/bin/env bash
# Prepare libvirt's QEMU driver in system mode (qemu:///system) for the crash
# tests, whose guests must outlive the process that defined them. Idempotent;
# needs root. Starts nothing: tests/fixtures/libvirt_qemu.py starts virtlogd
# and libvirtd when no daemon answers.
#
# What Debian's libvirt-daemon-system package would do on a machine with
# systemd: the libvirt-qemu user and libvirt's directories. Guests run under
# TCG as root (user/group in qemu.conf) so they can open the tests' disks,
# and so libvirt does not re-probe QEMU for every domain on hosts whose
# /dev/kvm only root may open. An existing qemu.conf is left alone.
# qemu-block-extra (QEMU's iSCSI driver) and tgt (a target daemon) serve
# the iSCSI test (tests/functional/test_iscsi.py).
set -euo pipefail

if [[ "$(id -u)" != 0 ]]; then
    echo "libvirt-qemu/setup.sh: not root; crash tests will be skipped" >&2
    exit 0
fi
packages=(libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86
          qemu-block-extra tgt)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null \
        | grep -q 'ok installed' || missing+=("$package")
done
if (( ${#missing[@]} )); then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
getent passwd libvirt-qemu >/dev/null \
    || useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu
mkdir -p /etc/libvirt /var/log/libvirt /var/lib/libvirt/qemu /var/cache/libvirt \
    /run/libvirt
if [[ ! -e /etc/libvirt/qemu.conf ]]; then
    printf 'user = "root"\ngroup = "root"\n' > /etc/libvirt/qemu.conf
fi

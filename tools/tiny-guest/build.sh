#!/bin/bash
# Builds spawnflow's tiny test guest from Debian packages, reproducibly:
#   tools/tiny-guest/build.sh OUTPUT_DIR
# writes OUTPUT_DIR/tiny-guest.qcow2 (a compressed qcow2: a FAT disk booted
# by syslinux into Debian's cloud kernel and a busybox initramfs whose /init
# reports the NoCloud config drive on ttyS0) and OUTPUT_DIR/tiny-guest.manifest
# (the packages used and the image's sha256). The same package versions give
# the same bytes whatever the time or directory of the build. When the image
# is up to date with what apt would download now it does nothing, so make can
# call it every time. Downloads are cached in OUTPUT_DIR/packages.
set -euo pipefail

usage="usage: $0 OUTPUT_DIR"
[ $# -eq 1 ] || { echo "$usage" >&2; exit 2; }
umask 022
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1/packages"
out=$(cd "$1" && pwd)
image=$out/tiny-guest.qcow2
manifest=$out/tiny-guest.manifest
cache=$out/packages

export LC_ALL=C TZ=UTC
log() { echo "tiny-guest: $*"; }

# One build at a time per OUTPUT_DIR (make -j, parallel test sessions).
exec 9>"$out/.tiny-guest.lock"
flock 9

# What goes into the image: the concrete package apt's kernel metapackage
# depends on, busybox, syslinux. syslinux-common is not needed: the syslinux
# installer carries ldlinux.sys and ldlinux.c32 itself, and syslinux.cfg
# uses no other .c32 module.
kernel_meta=linux-image-cloud-amd64
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 "$@" 2>&1; }
resolve_kernel() {
    apt-cache show --no-all-versions "$kernel_meta" 2>/dev/null |
        sed -n 's/^Depends: //p' | tr ',' '\n' | grep -o 'linux-image-[0-9][^ ]*-cloud-amd64' | head -n 1
}
# (A machine whose package lists were never fetched knows no kernel yet.)
kernel_pkg=$(resolve_kernel)
[ -n "$kernel_pkg" ] || { apt_get update >/dev/null; kernel_pkg=$(resolve_kernel); }
[ -n "$kernel_pkg" ] || { echo "$0: cannot resolve $kernel_meta (apt-get update failed?)" >&2; exit 1; }
kver=${kernel_pkg#linux-image-}
packages=("$kernel_pkg" busybox-static syslinux)

# apt's candidate of each: "package NAME VERSION" lines, and where to get it.
declare -A arch=() deb_sha=()
wanted=
while read -r field value; do
    case $field in
        Package:) p=$value ;;
        Version:) wanted+="package $p $value"$'\n' ;;
        Architecture:) arch[$p]=$value ;;
        SHA256:) deb_sha[$p]=$value ;;
    esac
done < <(apt-cache show --no-all-versions "${packages[@]}" |
    grep -E '^(Package|Version|Architecture|SHA256): ')
wanted=${wanted%$'\n'}
[ "$(wc -l <<<"$wanted")" = ${#packages[@]} ] || { echo "$0: no candidate for some of ${packages[*]}" >&2; exit 1; }
# The recipe: a change to this script or to /init makes a new image too.
recipe=$(cat "$here/build.sh" "$here/init" | sha256sum | cut -d' ' -f1)

# Up to date: same packages and recipe, and the image is the one described.
if [ -f "$image" ] && [ -f "$manifest" ] &&
    [ "$(grep '^package ' "$manifest")" = "$wanted" ] &&
    grep -qx "recipe $recipe" "$manifest" &&
    grep -qx "sha256 $(sha256sum "$image" | cut -d' ' -f1)" "$manifest"; then
    exit 0
fi

# Host tools (gzip, sed, flock... are essential; apt's lock is waited for).
host_tools=(qemu-utils mtools cpio)
missing=()
for p in "${host_tools[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q ' ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    output=$(apt_get install -y --no-install-recommends "${missing[@]}") ||
        output=$(apt_get update && apt_get install -y --no-install-recommends "${missing[@]}") ||
        { echo "$output" >&2; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$image.part" "$manifest.part"' EXIT

# Download (or reuse from the cache, checked against apt's sha256) and unpack.
log "packages: ${packages[*]}"
root=$tmp/root
mkdir "$root"
while read -r _ p v; do
    deb=$cache/${p}_${v//:/%3a}_${arch[$p]}.deb
    if ! [ -f "$deb" ] || ! echo "${deb_sha[$p]}  $deb" | sha256sum -c --status; then
        # Other versions of this package are stale now.
        rm -f "$cache/${p}"_*.deb
        (cd "$cache" && apt-get download -qq -o APT::Sandbox::User="$(id -un)" "$p=$v")
    fi
    dpkg -x "$deb" "$root"
done <<<"$wanted"

# Every timestamp in the image: the packages' newest changelog entry (binNMUs
# have theirs in changelog.Debian.<arch>.gz).
SOURCE_DATE_EPOCH=$(for f in "$root"/usr/share/doc/*/changelog*.gz; do
    zcat "$f" | awk '/^ -- / && !n++ { sub(/^.*>  /, ""); print }'
done | while read -r d; do date -d "$d" +%s; done | sort -n | tail -n 1)
[ -n "$SOURCE_DATE_EPOCH" ] || { echo "$0: no changelog dates" >&2; exit 1; }
export SOURCE_DATE_EPOCH

# The kernel must have these built in...
config=$root/boot/config-$kver
for option in DEVTMPFS BLK_DEV_INITRD RD_GZIP SERIAL_8250_CONSOLE ACPI; do
    grep -qx "CONFIG_$option=y" "$config" || { echo "$0: $kernel_pkg lacks CONFIG_$option=y" >&2; exit 1; }
done
# ...and these, built in or as modules: virtio disks (spawnflow attaches the
# config drive as one), ISO9660 with Rock Ridge (always part of isofs) and
# Joliet, FAT with its default codepage and iocharset. A CD-ROM would need
# BLK_DEV_SR:sr_mod with ATA_PIIX:ata_piix (IDE) or SCSI_VIRTIO:virtio_scsi:
# 1.5 MB more modules and 0.5 s more boot under TCG (this kernel has no AHCI).
options="VIRTIO_PCI:virtio_pci VIRTIO_BLK:virtio_blk
    ISO9660_FS:isofs JOLIET:- VFAT_FS:vfat NLS_CODEPAGE_437:nls_cp437 NLS_ASCII:nls_ascii"
modules=()
for entry in $options; do
    option=${entry%%:*}
    case $(sed -n "s/^CONFIG_$option=//p" "$config") in
        y) ;;
        m) modules+=("${entry#*:}") ;;
        *) echo "$0: $kernel_pkg lacks CONFIG_$option" >&2; exit 1 ;;
    esac
done

# Those modules and their dependencies (modules.dep, made by busybox's
# depmod since Debian's package ships none), dependencies first.
moddir=$root/lib/modules/$kver
"$root/bin/busybox" depmod -b "$root" "$kver"
declare -A modpath=() loaded=()
while IFS=: read -r path _; do
    name=${path##*/}; name=${name%%.ko*}
    modpath[${name//-/_}]=$path
done <"$moddir/modules.dep"
order=()
add_module() {
    local path=${modpath[$1]:?"$0: no module $1 in $kernel_pkg"} dep
    [ -z "${loaded[$1]:-}" ] || return 0
    loaded[$1]=1
    for dep in $(sed -n "s|^$path: *||p" "$moddir/modules.dep"); do
        dep=${dep##*/}; dep=${dep%%.ko*}
        add_module "${dep//-/_}"
    done
    order+=("$1")
}
for m in "${modules[@]}"; do add_module "$m"; done

# The initramfs: busybox (an applet symlink each), /init, the modules.
initrd=$tmp/initrd
mkdir -p "$initrd"/{bin,dev,proc,sys,seed,modules}
install -m 0755 "$root/bin/busybox" "$initrd/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$initrd/bin/$applet"
done
install -m 0755 "$here/init" "$initrd/init"
i=0
for m in "${order[@]}"; do
    i=$((i + 1))
    ko=$moddir/${modpath[$m]}
    dest=$initrd/modules/$(printf %02d $i)-$m.ko
    case $ko in
        *.ko) cp "$ko" "$dest" ;;
        *.ko.xz) "$root/bin/busybox" xz -dc "$ko" >"$dest" ;;
        *.ko.gz) gzip -dc "$ko" >"$dest" ;;
        *.ko.zst) zstd -qdc "$ko" >"$dest" ;;  # needs the zstd package
    esac
    chmod 0644 "$dest"
done
log "initramfs: busybox, /init, modules ${order[*]}"
(cd "$initrd" &&
    find . -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} + &&
    find . -print0 | sort -z |
    cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) |
    gzip -9 -n >"$tmp/initrd.gz"

# The disk: FAT without a partition table (no loop device or mount), syslinux.
# mtools dates what it writes SOURCE_DATE_EPOCH (mformat's label, syslinux's
# ldlinux.*); mcopy -m keeps the files' pinned mtimes; -N fixes the serial.
disk=$tmp/disk.raw
cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz"
cat >"$tmp/syslinux.cfg" <<'EOF'
SERIAL 0
DEFAULT tiny
LABEL tiny
  LINUX vmlinuz
  INITRD initrd.gz
  APPEND console=ttyS0 panic=-1 quiet
EOF
touch -d "@$SOURCE_DATE_EPOCH" "$tmp/vmlinuz" "$tmp/initrd.gz" "$tmp/syslinux.cfg"
truncate -s 64M "$disk"
mformat -i "$disk" -F -N 5f1a7e57 -v TINYGUEST ::
"$root/usr/bin/syslinux" --install "$disk"
mcopy -m -i "$disk" "$tmp/vmlinuz" "$tmp/initrd.gz" "$tmp/syslinux.cfg" ::
log "disk: syslinux, vmlinuz-$kver, initrd.gz ($(stat -c %s "$tmp/initrd.gz") bytes)"

# The image, replaced atomically, then its manifest.
qemu-img convert -f raw -O qcow2 -c -o compression_type=zlib "$disk" "$image.part"
image_sha=$(sha256sum "$image.part" | cut -d' ' -f1)
mv "$image.part" "$image"
host=$(for p in "${host_tools[@]}" gzip; do dpkg-query -W -f='${Package} ${Version}, ' "$p"; done)
{
    echo "# spawnflow tiny guest: made by tools/tiny-guest/build.sh from these Debian packages"
    echo "# ($kernel_meta resolved to $kernel_pkg; built with ${host%, })"
    echo "$wanted"
    echo "recipe $recipe"
    echo "source_date_epoch $SOURCE_DATE_EPOCH"
    echo "sha256 $image_sha"
} >"$manifest.part"
mv "$manifest.part" "$manifest"
log "$image: $(stat -c %s "$image") bytes, sha256 $image_sha"

#!/usr/bin/env bash
# Install real OpenStack Glance and Cinder into private virtualenvs for the
# functional-test fixtures in tests/fixtures/openstack.py.
#
# Usage: tools/openstack-services/install.sh [TARGET_DIR]
#   TARGET_DIR defaults to <repo root>/.venv-openstack.
# Creates TARGET_DIR/glance and TARGET_DIR/cinder. A venv whose stamp file
# (written only after a successful install) exists is left alone, so the
# script is safe to run repeatedly.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${1:-$repo_root/.venv-openstack}"
stamp_name=".spawnflow-installed"

# apt_install PKG...: install Debian packages (only called when one is missing).
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install.sh: need $* but apt-get is not available" >&2
        exit 1
    fi
    echo "installing $* (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "$@" >&2
}

if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3
fi
python="$(command -v python3)"

# Debian's python3 ships ensurepip (needed by "python3 -m venv") separately,
# in python3.X-venv.
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install "python$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
fi

# install_venv NAME PIP_ARGS...
install_venv() {
    local name="$1"; shift
    local venv="$target/$name"
    local spec="$*"
    local start=$SECONDS
    if [[ -f "$venv/$stamp_name" ]] && [[ "$(cat "$venv/$stamp_name")" == "$spec" ]]; then
        echo "$name: already installed in $venv"
        return
    fi
    if [[ -e "$venv" && ! -f "$venv/pyvenv.cfg" ]]; then
        echo "install.sh: $venv exists and is not a virtualenv; refusing to replace it" >&2
        exit 1
    fi
    rm -rf "$venv"  # a venv without stamp is a failed or outdated install
    mkdir -p "$target"
    local log="$target/$name-install.log"
    if ! { "$python" -m venv "$venv" \
           && "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip \
           && "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@"; } >"$log" 2>&1; then
        echo "$name: install FAILED, see $log" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    printf '%s' "$spec" >"$venv/$stamp_name"
    echo "$name: installed $spec in $venv ($((SECONDS - start)) s)"
}

install_venv glance 'glance==33.*' gunicorn
install_venv cinder 'cinder==29.*' fixtures psycopg2-binary

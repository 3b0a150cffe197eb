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

python="$(command -v python3 || true)"
if [[ -z "$python" ]]; then
    echo "install.sh: python3 not found on PATH" >&2
    exit 1
fi

# Debian's python3 ships venv/ensurepip separately (package python3-venv).
if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "installing python3-venv (apt-get)" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq python3-venv >&2
    else
        echo "install.sh: $python lacks ensurepip/venv and apt-get is absent" >&2
        exit 1
    fi
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
    rm -rf "$venv"
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
install_venv cinder 'cinder==29.*' fixtures

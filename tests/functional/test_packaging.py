"""spawnflow as a user installs it: the wheel built from this tree,
installed with upper-constraints.txt in a fresh virtualenv of its own
(no site packages, no checkout on the path), syncs a database and builds
a server on the embedded default (SQLite, the local stores, libvirt's
test:///default).

The install takes pip's cache (about a minute here); the build needs pip
to reach the index it is configured with, as CI's does.
"""

import json
import os
import pathlib
import subprocess
import sys
import venv
import zipfile

import pytest

from tests import conftest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / 'upper-constraints.txt'
SAMPLE = 'etc/spawnflow/spawnflow.conf.sample'
PACKAGE_DATA = {
    'spawnflow/persistence/alembic.ini',
    'spawnflow/persistence/migrations/env.py',
    'spawnflow/persistence/migrations/script.py.mako',
    'spawnflow/dashboard/templates/base.html',
    'spawnflow/dashboard/static/dashboard.css',
}


def _run(argv, cwd, timeout=600):
    env = {key: value for key, value in os.environ.items()
           if key not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    completed = subprocess.run([str(arg) for arg in argv], cwd=cwd, env=env,
                               capture_output=True, text=True,
                               timeout=timeout)
    assert completed.returncode == 0, (argv, completed.stdout,
                                       completed.stderr)
    return completed


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """The wheel of this tree and its build's output."""
    out = tmp_path_factory.mktemp('wheel')
    built = _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-w',
                  out, ROOT], cwd=out)
    [path] = out.glob('spawnflow-*.whl')
    return path, built.stdout + built.stderr


def test_wheel_contents(wheel):
    """Migrations, alembic.ini, templates and the sample config ship; the
    build does not warn that the migrations are not a package."""
    path, log = wheel
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        [sample] = [name for name in names if name.endswith(
            '.data/data/' + SAMPLE)]
        assert archive.read(sample) == (ROOT / SAMPLE).read_bytes()
    versions = {p.relative_to(ROOT).as_posix() for p in (
        ROOT / 'spawnflow/persistence/migrations/versions').glob('0*.py')}
    assert len(versions) >= 6
    assert versions | PACKAGE_DATA <= names
    assert 'migrations.versions' not in log


def test_installed_wheel_builds_a_server(wheel, tmp_path):
    path, _ = wheel
    env_dir = tmp_path / 'venv'
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / 'bin'
    _run([bin_dir / 'pip', 'install', '-q', '-c', CONSTRAINTS, path],
         cwd=tmp_path)
    where = _run([bin_dir / 'python', '-c',
                  'import spawnflow; print(spawnflow.__file__)'],
                 cwd=tmp_path).stdout
    assert where.startswith(str(env_dir)), where
    assert (env_dir / SAMPLE).read_bytes() == (ROOT / SAMPLE).read_bytes()

    config = conftest.write_config(tmp_path / 'spawnflow.conf',
                                   tmp_path / 'state')
    spawnflow = [bin_dir / 'spawnflow', '--config-file', config]
    synced = _run(spawnflow + ['db', 'sync'], cwd=tmp_path)
    assert synced.stdout.startswith('Database at revision ')
    version = json.loads(_run(spawnflow + ['db', 'version', '-f', 'json'],
                              cwd=tmp_path).stdout)
    assert version['Up To Date'] is True
    image = conftest.make_qcow2(tmp_path / 'tiny.qcow2', '16M')
    image_id = json.loads(_run(spawnflow + [
        'image', 'create', 'tiny', '--file', image, '--disk-format',
        'qcow2', '-f', 'json'], cwd=tmp_path).stdout)['id']
    created = _run(spawnflow + [
        'server', 'create', '--flavor', 'm1.tiny', '--image', image_id,
        'packaged', '-f', 'value', '-c', 'status'], cwd=tmp_path)
    assert created.stdout == 'ACTIVE\n', created.stderr

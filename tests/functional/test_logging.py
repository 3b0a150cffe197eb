"""Logging per oslo.log's options and the CLI's -v levels, in real
``spawnflow`` processes on the embedded default."""

import re
import subprocess
import sys

import pytest

from spawnflow import faultinject
from tests import conftest

#: oslo.log's default format: time, pid, level, logger, [context], message.
OSLO_LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ '
                       r'(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ \[-\] ')
SECRET = 'log-secret-5e1f0d'


def _spawnflow(config, *args, env=None):
    return subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file', config]
        + list(args), capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def logged(tmp_path):
    """A configuration logging to a file at DEBUG, with secrets in it."""
    log_file = tmp_path / 'oslo.log'
    config = conftest.write_config(
        tmp_path / 'spawnflow.conf', tmp_path / 'state', extra=f"""
log_file = {log_file}
debug = true
[cinder]
password = {SECRET}
[service_user]
password = {SECRET}
""")
    return config, log_file


def test_log_file_and_levels(logged, tmp_path, monkeypatch):
    """The log file has DEBUG lines in oslo.log's format and no secret;
    the console keeps the CLI's levels: nothing below WARNING by default,
    INFO with -v, no DEBUG without -vv."""
    config, log_file = logged
    synced = _spawnflow(config, 'db', 'sync')
    assert synced.returncode == 0, synced.stderr
    assert synced.stderr == ''
    upgrades = _spawnflow(config, '-v', 'db', 'sync')
    assert upgrades.returncode == 0, upgrades.stderr
    image = conftest.make_qcow2(tmp_path / 'tiny.qcow2', '16M')
    image_id = _spawnflow(config, 'image', 'create', 'tiny', '--file', image,
                          '--disk-format', 'qcow2', '-f', 'value', '-c',
                          'id').stdout.strip()
    monkeypatch.setenv(faultinject.FAIL_ENV, 'define-domain')
    failed = _spawnflow(config, '-v', 'server', 'create', '--flavor',
                        'm1.tiny', '--image', image_id, 'failing')
    assert failed.returncode == 1

    assert 'ended REVERTED: Error: failure injected at define-domain' in (
        failed.stderr)  # spawnflow.engine's INFO
    assert 'Acquired lock' not in failed.stderr  # oslo.concurrency's DEBUG
    records = [line for line in log_file.read_text().splitlines()
               if OSLO_LINE.match(line)]
    levels = {OSLO_LINE.match(line).group(1) for line in records}
    assert {'DEBUG', 'INFO', 'ERROR'} <= levels, levels
    assert any(' DEBUG oslo_concurrency.lockutils [-] Acquired lock' in line
               for line in records)
    assert any(' INFO spawnflow.engine [-] Flow build-' in line
               for line in records)
    assert SECRET not in log_file.read_text()
    assert SECRET not in failed.stderr


def test_verbose_console_without_a_log_file(tmp_path):
    """Without oslo.log's options the console alone logs: -v shows the
    INFO of a migration, the default hides it."""
    config = conftest.write_config(tmp_path / 'spawnflow.conf',
                                   tmp_path / 'state')
    verbose = _spawnflow(config, '-v', 'db', 'sync')
    assert verbose.returncode == 0, verbose.stderr
    assert 'Running upgrade' in verbose.stderr
    assert not OSLO_LINE.search(verbose.stderr)
    quiet = _spawnflow(config, 'db', 'sync')
    assert quiet.stderr == ''

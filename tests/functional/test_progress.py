"""Image download progress: TaskFlow progress notifications, and a progress
bar from the CLI on a terminal (a real pseudo-terminal) but not elsewhere."""

import os
import pty
import subprocess
import sys

import pytest

from spawnflow.cli import main
from spawnflow import progress

IMAGE_BYTES = 8 * 1024 * 1024  # eight 1 MiB chunks


@pytest.fixture
def raw_image(client, tmp_path):
    path = tmp_path / 'disk.raw'
    path.write_bytes(os.urandom(IMAGE_BYTES))
    return client.image_create('raw-image', str(path), 'raw')


def test_fetch_image_reports_progress(client, raw_image):
    seen = []
    client.engine.listener_factories.append(
        lambda engine: progress.ProgressListener(
            engine, lambda name, fraction: seen.append((name, fraction))))
    server = client.build('progress', vcpus=1, ram=64, disk=1,
                          image=raw_image['id'])
    assert server['vm_state'] == 'active'
    fractions = [f for name, f in seen if name == 'fetch-image']
    assert len(fractions) >= 8
    assert fractions == sorted(fractions)
    assert fractions[0] < 0.2 and fractions[-1] == 1.0


def _run_on_terminal(argv):
    """Run the CLI with stdin/stdout/stderr on a pseudo-terminal."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, stdin=terminal, stdout=terminal,
                               stderr=terminal, close_fds=True)
    os.close(terminal)
    output = b''
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's last writer has gone
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(timeout=120), output.decode(errors='replace')


def test_cli_shows_a_progress_bar_on_a_terminal(config_file, client,
                                                raw_image):
    code, output = _run_on_terminal([
        sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
        config_file, 'server', 'create', '--vcpus', '1', '--ram', '64',
        '--disk', '1', '--image', raw_image['id'], 'tty', '-f', 'value',
        '-c', 'status'])
    assert code == 0, output
    assert 'fetch-image' in output
    assert '100%' in output
    assert output.rstrip().endswith('ACTIVE')


def test_cli_draws_no_bar_when_not_on_a_terminal(config_file, client,
                                                 raw_image, capsys):
    assert main.main(['--config-file', config_file, 'server', 'create',
                      '--vcpus', '1', '--ram', '64', '--disk', '1',
                      '--image', raw_image['id'], 'pipe', '-f', 'value',
                      '-c', 'status']) == 0
    captured = capsys.readouterr()
    assert captured.out == 'ACTIVE\n'
    assert 'fetch-image' not in captured.err

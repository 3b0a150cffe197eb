"""Build progress: the notifications a build's tasks send (states,
progress, bytes), and the CLI's display on a terminal (a real
pseudo-terminal) but not elsewhere. The screen itself is read in
test_terminal_progress."""

import json
import os
import pty
import re
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


class _Recorder(progress.Observer):

    def __init__(self):
        self.names = None
        self.seen = []

    def flow_tasks(self, names):
        self.names = names

    def task_state(self, name, state, failure=None):
        self.seen.append((name, state))

    def progress(self, name, fraction):
        self.seen.append((name, fraction))

    def transferred(self, name, done, total):
        self.seen.append((name, done, total))


def test_fetch_image_reports_states_progress_and_bytes(client, raw_image):
    recorder = _Recorder()
    client.engine.listener_factories.append(
        lambda engine: progress.ProgressListener(engine, recorder))
    server = client.build('progress', vcpus=1, ram=64, disk=1,
                          image=raw_image['id'])
    assert server['vm_state'] == 'active'
    assert recorder.names[0] == 'mark-building'
    assert recorder.names[-1] == 'mark-active'
    assert 'fetch-image' in recorder.names
    seen = [event[1:] for event in recorder.seen
            if event[0] == 'fetch-image']
    assert seen[0] == ('RUNNING',) and ('SUCCESS',) in seen
    fractions = [e[0] for e in seen if isinstance(e[0], float)]
    assert len(fractions) >= 8
    assert fractions == sorted(fractions)
    assert fractions[0] < 0.2 and fractions[-1] == 1.0
    # Every 1 MiB chunk, with the total.
    assert [e for e in seen if len(e) == 2] == [
        (n * 1024 * 1024, IMAGE_BYTES) for n in range(1, 9)]
    assert ('mark-active', 'SUCCESS') in recorder.seen


def _run_on_terminal(argv):
    """Run the CLI with stdin and stderr on a pseudo-terminal, stdout on
    a pipe; returns its exit code, stdout and what the terminal got."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, stdin=terminal, stdout=subprocess.PIPE,
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
    stdout = process.stdout.read()
    process.stdout.close()
    return (process.wait(timeout=120), stdout.decode(),
            output.decode(errors='replace'))


def test_progress_goes_to_the_terminal_and_json_to_stdout(config_file,
                                                          client, raw_image):
    code, stdout, terminal = _run_on_terminal([
        sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
        config_file, 'server', 'create', '--vcpus', '1', '--ram', '64',
        '--disk', '1', '--image', raw_image['id'], 'tty', '-f', 'json'])
    assert code == 0, terminal
    assert json.loads(stdout)['status'] == 'ACTIVE'
    # The build line (a local copy is too quick for the bar to be drawn).
    assert re.search(r'building \S+ \(task \d+ of \d+\)', terminal)
    # A build that succeeded leaves nothing but its result.
    assert 'failed' not in terminal and 'reverted' not in terminal


def test_cli_draws_no_bar_when_not_on_a_terminal(config_file, client,
                                                 raw_image, capsys):
    assert main.main(['--config-file', config_file, 'server', 'create',
                      '--vcpus', '1', '--ram', '64', '--disk', '1',
                      '--image', raw_image['id'], 'pipe', '-f', 'value',
                      '-c', 'status']) == 0
    captured = capsys.readouterr()
    assert captured.out == 'ACTIVE\n'
    assert 'fetch-image' not in captured.err

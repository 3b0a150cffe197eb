"""The build's progress as a user sees it: the real CLI in a tmux pane,
its screen read while a download is held half-way and after the build
failed and was reverted."""

import hashlib
import http.server
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

import pytest

MiB = 1024 * 1024
IMAGE_BYTES = 6 * MiB
HELD_AT = 3 * MiB  # a whole number of the driver's 1 MiB chunks
WAIT = 60  # seconds: a bound on every wait, never a delay

pytestmark = pytest.mark.skipif(shutil.which('tmux') is None,
                                reason='tmux is not installed')


class _HeldHandler(http.server.BaseHTTPRequestHandler):
    """Ranged GETs (the image probe) at once; a whole GET sends its first
    HELD_AT bytes, then the rest once the server's ``release`` is set."""

    def do_GET(self):
        data = self.server.data
        match = re.fullmatch(r'bytes=(\d+)-(\d+)',
                             self.headers.get('Range', ''))
        if match:
            start, end = int(match[1]), min(int(match[2]), len(data) - 1)
            self.send_response(206)
            self.send_header('Content-Range',
                             'bytes %d-%d/%d' % (start, end, len(data)))
            self._send_headers(end - start + 1)
            self.wfile.write(data[start:end + 1])
            return
        self.send_response(200)
        self._send_headers(len(data))
        self.wfile.write(data[:HELD_AT])
        self.wfile.flush()
        self.server.release.wait(WAIT)
        self.wfile.write(data[HELD_AT:])

    def _send_headers(self, length):
        self.send_header('Content-Length', str(length))
        self.end_headers()

    def log_message(self, *args):
        pass


class HeldImageServer(http.server.ThreadingHTTPServer):
    """A raw image on 127.0.0.1 whose download stops half-way until
    ``release`` is set."""

    daemon_threads = True

    def __init__(self):
        self.data = os.urandom(IMAGE_BYTES)
        self.release = threading.Event()
        super().__init__(('127.0.0.1', 0), _HeldHandler)
        self._thread = threading.Thread(target=self.serve_forever)
        self._thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d/disk.raw#sha256=%s' % (
            self.server_port, hashlib.sha256(self.data).hexdigest())

    def close(self):
        self.release.set()
        self.shutdown()
        self.server_close()
        self._thread.join(WAIT)


class Terminal:
    """One command in a 120x50 tmux pane (a tmux server of its own); the
    pane stays once the command ended, with ``[exit N]`` below it."""

    def __init__(self, socket, argv, env):
        self._socket = socket
        command = '%s; echo "[exit $?]"; %s; exec cat' % (
            shlex.join(['env'] + ['%s=%s' % item for item in env.items()]
                       + argv),
            shlex.join(self._argv('wait-for', '-S', 'exited')))
        self._tmux('new-session', '-d', '-x', '120', '-y', '50', command)

    def _argv(self, *args):
        return ['tmux', '-S', self._socket] + list(args)

    def _tmux(self, *args):
        return subprocess.run(self._argv(*args), check=True, text=True,
                              capture_output=True, timeout=WAIT).stdout

    def screen(self):
        """The pane's text, scrollback included, wrapped lines joined."""
        return self._tmux('capture-pane', '-p', '-J', '-S', '-')

    def wait_for(self, condition):
        """The screen once ``condition(screen)`` holds (for at most WAIT
        seconds, and only while the command runs)."""
        deadline = time.monotonic() + WAIT
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            assert '[exit ' not in screen, screen
            assert time.monotonic() < deadline, screen
            time.sleep(0.05)  # poll interval of a bounded condition wait

    def wait_for_exit(self):
        """The screen once the command ended."""
        self._tmux('wait-for', 'exited')
        return self.screen()

    def close(self):
        self._tmux('kill-server')


@pytest.fixture
def image_server():
    server = HeldImageServer()
    yield server
    server.close()


@pytest.fixture
def terminal(tmp_path):
    terminals = []

    def start(argv, env):
        terminals.append(Terminal(str(tmp_path / 'tmux.sock'), argv, env))
        return terminals[-1]

    yield start
    for term in terminals:
        term.close()


#: rich's transfer speed: bytes/s, kB/s, MB/s or, on loopback, GB/s.
_SPEED = r'[\d.]+ (?:bytes|[kMG]B)/s'
_HELD_BAR = re.compile(r'fetch-image .*\b(\d+\.\d)/(\d+\.\d) MB\s+'
                       + _SPEED)


def _held(screen):
    match = _HELD_BAR.search(screen)
    return match and float(match[1]) < float(match[2])


def _lines(screen):
    return [line.strip() for line in screen.splitlines() if line.strip()]


def test_terminal_shows_build_line_download_bar_failure_and_reverts(
        config_file, client, image_server, terminal):
    term = terminal(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'server', 'create', '--vcpus', '1', '--ram', '64',
         '--disk', '1', '--image', image_server.url, 'held'],
        {'SPAWNFLOW_FAIL_AT': 'start-domain'})

    held = _lines(term.wait_for(_held))
    # One line for the build, one bar for the download: no row per task.
    assert len(held) == 2, held
    build = re.match(r'\S+ building fetch-image \(task (\d+) of (\d+)\) '
                     r'\d:\d\d:\d\d$', held[0])
    assert build and 1 < int(build[1]) < int(build[2]), held
    assert re.match(r'fetch-image .* 3\.1/6\.3 MB ' + _SPEED + ' '
                    r'(\d:\d\d:\d\d|-:--:--)$', held[1]), held

    image_server.release.set()
    lines = _lines(term.wait_for_exit())

    assert lines[0] == ('✗ start-domain failed: failure injected at '
                        'start-domain (SPAWNFLOW_FAIL_AT)')
    reverted = [line.split()[1] for line in lines
                if line.startswith('reverted ')]
    # Each revert as it ran, newest task first.
    assert reverted[0] == 'start-domain' and reverted[-1] == 'mark-building'
    assert {'define-domain', 'create-root-disk', 'fetch-image',
            'create-config-drive', 'claim-resources'} <= set(reverted)
    summary = 'build failed at start-domain; reverted %d tasks' % len(
        reverted)
    assert lines[1 + len(reverted)] == summary, lines
    assert lines[2 + len(reverted)].startswith('Server ')
    assert 'is ERROR: start-domain failed' in lines[2 + len(reverted)]
    assert lines[-1] == '[exit 1]'
    # The live display is gone: no build line or bar is left behind.
    assert not any(re.match(r'\S+ (building|reverting) ', line)
                   or 'MB/s' in line for line in lines), lines
    assert client.list()[0]['vm_state'] == 'error'

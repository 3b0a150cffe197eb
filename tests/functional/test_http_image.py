"""Images given as http(s) URLs with their digest, against a real HTTP
server on 127.0.0.1 that each test starts, through the real image cache.
"""

import contextlib
import functools
import hashlib
import http.server
import io
import json
import os
import re
import subprocess
import threading

import pytest

from spawnflow import conf as spawnflow_conf
from spawnflow.drivers.image import http as http_image
from spawnflow import exception
from tests import conftest
from tests.functional import leaks
from tests.functional.test_cli import Cli

_RANGE = re.compile(r'bytes=(\d+)-(\d*)')
WAIT = 60  # seconds: a bound on every Event wait, never a delay


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the server's directory; ``/status/N`` answers N, ``/hang``
    never answers. Ranged GETs get 206 only when the server says so
    (http.server alone ignores Range, as some real servers do)."""

    def do_GET(self):
        self.server.record(self)
        if self.path == '/hang':
            self.server.closing.wait(WAIT)
            return
        if self.path.startswith('/status/'):
            self.send_error(int(self.path.rpartition('/')[2]))
            return
        if 'Range' not in self.headers and self.server.hold is not None:
            self.server.hold.wait(WAIT)
        super().do_GET()

    def send_head(self):
        match = _RANGE.fullmatch(self.headers.get('Range', ''))
        path = self.translate_path(self.path)
        if not (self.server.ranges and match and os.path.isfile(path)):
            return super().send_head()
        with open(path, 'rb') as stream:
            data = stream.read()
        start = int(match[1])
        end = min(int(match[2] or len(data) - 1), len(data) - 1)
        self.send_response(206)
        self.send_header('Content-Range',
                         'bytes %d-%d/%d' % (start, end, len(data)))
        self.send_header('Content-Length', str(end - start + 1))
        self.end_headers()
        self.server.partial_answers += 1
        return io.BytesIO(data[start:end + 1])

    def log_message(self, *args):
        pass


class ImageServer(http.server.ThreadingHTTPServer):
    """A real HTTP server serving ``directory``; records every request.

    ``hold``, when set to an Event, makes whole-file GETs (downloads, not
    the ranged probes of show()) wait for it.
    """

    daemon_threads = True

    def __init__(self, directory):
        self.directory = directory
        self.requests = []
        self.ranges = False
        self.partial_answers = 0
        self.hold = None
        self.closing = threading.Event()
        self._lock = threading.Lock()
        super().__init__(('127.0.0.1', 0), functools.partial(
            _Handler, directory=str(directory)))
        self._thread = threading.Thread(target=self.serve_forever)
        self._thread.start()

    def record(self, handler):
        with self._lock:
            self.requests.append((handler.command, handler.path,
                                  handler.headers.get('Range')))

    @property
    def downloads(self):
        """GETs of a whole file: what fetching an image costs."""
        return [r for r in self.requests if r[0] == 'GET' and r[2] is None]

    def url(self, path, digest=None, algo='sha256', **fields):
        """``http://127.0.0.1:PORT/path#sha256=<digest of the file>``."""
        if digest is None:
            digest = _digest(self.directory / path, algo)
        fragment = '&'.join(['%s=%s' % (algo, digest)] + [
            '%s=%s' % item for item in fields.items()])
        return 'http://127.0.0.1:%d/%s#%s' % (self.server_port, path,
                                              fragment)

    def close(self):
        self.closing.set()
        if self.hold is not None:
            self.hold.set()
        self.shutdown()
        self.server_close()
        self._thread.join(WAIT)


def _digest(path, algo='sha256'):
    with open(path, 'rb') as stream:
        return hashlib.new(algo, stream.read()).hexdigest()


@pytest.fixture
def www(tmp_path):
    directory = tmp_path / 'www'
    directory.mkdir()
    conftest.make_qcow2(directory / 'disk.qcow2')
    (directory / 'disk.raw').write_bytes(os.urandom(3 * 1000 * 1000))
    return directory


@pytest.fixture
def image_server(www):
    server = ImageServer(www)
    yield server
    server.close()


def _driver(config_file):
    return http_image.HTTPImageDriver(spawnflow_conf.load([config_file]))


def _base_dir_files(client):
    base_dir = client.services.image_cache.base_dir
    return sorted(os.listdir(base_dir)) if os.path.isdir(base_dir) else []


def _backing_file(disk):
    info = json.loads(subprocess.run(
        ['qemu-img', 'info', '--output=json', '-U', disk], check=True,
        capture_output=True, text=True).stdout)
    return info['backing-filename']


def _assert_nothing_created(client, before):
    assert client.db.instance_list(read_deleted=True) == []
    assert leaks.snapshot(client) == before
    assert _base_dir_files(client) == []


# Builds ----------------------------------------------------------------


def test_build_from_url_is_active_on_a_cached_verified_base(
        client, image_server, www):
    url = image_server.url('disk.qcow2')

    server = client.build('web-1', flavor='m1.tiny', image=url)

    assert server['vm_state'] == 'active', server['fault']
    assert server['image_ref'] == url
    base = client.services.image_cache.base_path(url)
    assert _base_dir_files(client) == [
        '.%s.image' % os.path.basename(base),
        '.%s.owner' % os.path.basename(base), os.path.basename(base)]
    with open(base, 'rb') as cached, open(www / 'disk.qcow2', 'rb') as data:
        assert cached.read() == data.read()
    disk = client.show(server['uuid'])['block_devices'][0][
        'connection_info']['data']['device_path']
    assert _backing_file(disk) == base
    assert len(image_server.downloads) == 1


def test_wrong_digest_fails_the_fetch_and_leaves_no_file(
        client, image_server):
    url = image_server.url('disk.qcow2',
                           hashlib.sha256(b'other bytes').hexdigest())
    before = leaks.snapshot(client)

    server = client.build('web-1', flavor='m1.tiny', image=url)

    assert server['vm_state'] == 'error'
    assert server['fault']['message'].startswith(
        'fetch-image failed: Image %s failed checksum verification: '
        'expected sha256 ' % url)
    assert not os.path.exists(client.services.image_cache.base_path(url))
    assert _base_dir_files(client) == []  # no .part file either
    assert leaks.snapshot(client) == before
    assert len(image_server.downloads) == 1


def test_missing_url_is_refused_before_anything_is_created(
        client, image_server):
    url = image_server.url('missing.qcow2', 'a' * 64)
    before = leaks.snapshot(client)

    with pytest.raises(exception.ImageNotFound) as info:
        client.build('web-1', flavor='m1.tiny', image=url)

    assert str(info.value) == 'Image %s could not be found.' % url
    _assert_nothing_created(client, before)
    assert image_server.downloads == []


@pytest.mark.parametrize('fragment, problem', [
    ('', 'needs the digest of its data in the fragment: #sha256=<64 hex '
         'digits> or #sha512=<128 hex digits>.'),
    ('#sha256=' + 'a' * 63, 'has a sha256 digest of 63 characters; it '
                            'must be 64 hex digits.'),
    ('#sha512=' + 'a' * 64, 'has a sha512 digest of 64 characters; it '
                            'must be 128 hex digits.'),
    ('#sha256=' + 'g' * 64, 'has a sha256 digest of 64 characters; it '
                            'must be 64 hex digits.'),
    ('#md5=' + 'a' * 32, "has 'md5' in its fragment; expected sha256= or "
                         "sha512=, and optionally disk_format=."),
    ('#sha256=a&sha512=b', 'gives both sha256= and sha512=; give one '
                           'digest.'),
    ('#sha256=%s&sha256=%s' % ('a' * 64, 'b' * 64), 'gives sha256= twice.'),
    ('#sha256=%s&disk_format=qed' % ('a' * 64),
     "names disk_format 'qed'; it must be one of raw, qcow2, vmdk, vhd, "
     "vhdx, vdi, iso."),
])
def test_bad_fragment_is_refused_before_any_request(
        client, image_server, fragment, problem):
    url = 'http://127.0.0.1:%d/disk.qcow2%s' % (
        image_server.server_port, fragment)
    before = leaks.snapshot(client)

    with pytest.raises(exception.InvalidRequest) as info:
        client.build('web-1', flavor='m1.tiny', image=url)

    assert str(info.value) == 'Image URL %s %s' % (url, problem)
    _assert_nothing_created(client, before)
    assert image_server.requests == []


@pytest.mark.parametrize('url, problem', [
    ('http://user:secret@127.0.0.1/d.qcow2#sha256=' + 'a' * 64,
     'must not carry credentials: the image id is stored with the '
     'instance.'),
    ('http://127.0.0.1:port/d.qcow2#sha256=' + 'a' * 64,
     "is malformed: Port could not be cast to integer value as 'port'."),
    ('http:///d.qcow2#sha256=' + 'a' * 64,
     'must be an http:// or https:// URL with a host.'),
    ('http://127.0.0.1/d\u00e9.qcow2#sha256=' + 'a' * 64,
     'must be printable ASCII without spaces (percent-encode other '
     'characters).'),
])
def test_bad_url_is_refused(client, url, problem):
    with pytest.raises(exception.InvalidRequest) as info:
        client.build('web-1', flavor='m1.tiny', image=url)
    assert str(info.value) == 'Image URL %s %s' % (url, problem)
    assert client.db.instance_list(read_deleted=True) == []


def test_over_long_url_is_refused(client):
    url = 'http://127.0.0.1/%s#sha256=%s' % ('d' * 200, 'a' * 64)
    with pytest.raises(exception.InvalidRequest) as info:
        client.build('web-1', flavor='m1.tiny', image=url)
    assert str(info.value) == (
        'Image URL is %d characters long; the limit is %d.'
        % (len(url), http_image.MAX_URL_LENGTH))


def test_disk_format_in_url_must_match_the_data(client, image_server):
    url = image_server.url('disk.qcow2', disk_format='raw')
    before = leaks.snapshot(client)

    with pytest.raises(exception.ImageError) as info:
        client.build('web-1', flavor='m1.tiny', image=url)

    assert str(info.value) == (
        'Image %s: the URL says disk_format=raw but the data is qcow2.'
        % url)
    _assert_nothing_created(client, before)
    assert image_server.downloads == []


def test_unsafe_image_is_refused_at_validation(client, image_server, www):
    """A qcow2 with a backing file would let a guest read host files."""
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b',
                    str(www / 'disk.qcow2'), '-F', 'qcow2',
                    str(www / 'overlay.qcow2')], check=True)
    url = image_server.url('overlay.qcow2')
    before = leaks.snapshot(client)

    with pytest.raises(exception.ImageError) as info:
        client.build('web-1', flavor='m1.tiny', image=url)

    assert str(info.value) == (
        'Image %s is refused: Safety checks failed: backing_file' % url)
    _assert_nothing_created(client, before)
    assert image_server.downloads == []


def test_same_url_built_concurrently_is_downloaded_once(
        client, image_server, monkeypatch):
    """The first download is held open until the other build is about to
    take the image's lock, so the second fetch can only wait for the
    first (the lock) and then find its base."""
    url = image_server.url('disk.qcow2')
    image_server.hold = threading.Event()
    cache = client.services.image_cache
    real_lock = cache._lock
    lockers = []
    lockers_lock = threading.Lock()

    @contextlib.contextmanager
    def observed_lock(image_id):
        with lockers_lock:
            lockers.append(image_id)
            if len(lockers) == 2:
                image_server.hold.set()
        with real_lock(image_id):
            yield

    monkeypatch.setattr(cache, '_lock', observed_lock)
    barrier = threading.Barrier(2, timeout=WAIT)
    servers, errors = [], []

    def build(name):
        try:
            barrier.wait()
            servers.append(client.build(name, flavor='m1.tiny', image=url))
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=build, args=(name,))
               for name in ('web-1', 'web-2')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)

    assert errors == []
    assert lockers == [url, url]
    assert [s['vm_state'] for s in servers] == ['active', 'active'], [
        s['fault'] for s in servers]
    assert len(image_server.downloads) == 1
    base = cache.base_path(url)
    for server in servers:
        disk = client.show(server['uuid'])['block_devices'][0][
            'connection_info']['data']['device_path']
        assert _backing_file(disk) == base


# The driver ------------------------------------------------------------


@pytest.mark.parametrize('ranges', [True, False])
def test_show_detects_format_and_size_from_the_first_bytes(
        config_file, image_server, www, ranges):
    image_server.ranges = ranges
    driver = _driver(config_file)
    raw_url = image_server.url('disk.raw')
    qcow2_url = image_server.url('disk.qcow2', 'AB' * 32,
                                 disk_format='qcow2')

    raw = driver.show(raw_url)
    qcow2 = driver.show(qcow2_url)

    assert raw == {'id': raw_url, 'name': 'disk.raw', 'status': 'active',
                   'disk_format': 'raw', 'size': 3 * 1000 * 1000,
                   'virtual_size': 3 * 1000 * 1000, 'hash_algo': 'sha256',
                   'hash_value': _digest(www / 'disk.raw')}
    assert qcow2 == {'id': qcow2_url, 'name': 'disk.qcow2',
                     'status': 'active', 'disk_format': 'qcow2',
                     'size': os.path.getsize(www / 'disk.qcow2'),
                     'virtual_size': 64 * 1024 ** 2, 'hash_algo': 'sha256',
                     'hash_value': 'ab' * 32}
    assert image_server.downloads == []
    assert image_server.partial_answers == (2 if ranges else 0)


def test_data_streams_the_bytes_as_sent(config_file, image_server, www):
    """data() gives the bytes; their digest is its consumers' to check as
    they stream (imagecache.write_verified; see the hostile-server
    tests)."""
    driver = _driver(config_file)
    chunks = list(driver.data(image_server.url('disk.raw', algo='sha512')))
    assert b''.join(chunks) == (www / 'disk.raw').read_bytes()
    assert max(len(c) for c in chunks) <= http_image.CHUNK_SIZE


def test_server_errors(tmp_path, image_server):
    """404 and 410 say the image is gone; 5xx is transient: show() is
    retried ([http_image] num_retries), then refused saying what the
    server answered; data() is tried once (its consumer retries the
    whole download)."""
    driver = _driver(_retrying_config(tmp_path, retries=2))
    gone = image_server.url('status/410', 'a' * 64)
    broken = image_server.url('status/500', 'a' * 64)

    with pytest.raises(exception.ImageNotFound):
        driver.show(gone)
    with pytest.raises(exception.ServiceUnavailable) as shown:
        driver.show(broken)
    with pytest.raises(exception.ServiceUnavailable) as downloaded:
        driver.data(broken)

    message = 'Image %s: the server answered 500 Internal Server Error.'
    assert str(shown.value) == str(downloaded.value) == message % broken
    assert [r[1] for r in image_server.requests].count('/status/500') == 4


def test_unreachable_server_is_retried_then_refused(tmp_path, image_server):
    url = image_server.url('disk.qcow2')
    image_server.close()  # nothing listens on the port any more
    with pytest.raises(exception.ServiceUnavailable) as info:
        _driver(_retrying_config(tmp_path, retries=1)).show(url)
    assert str(info.value) == ('Image %s: cannot be downloaded: Connection '
                               'refused' % url)


def test_silent_server_times_out(tmp_path, image_server):
    config = _retrying_config(tmp_path, retries=0,
                              extra='[http_image]\ntimeout = 1\n')
    url = image_server.url('hang', 'a' * 64)
    with pytest.raises(exception.ServiceUnavailable) as info:
        _driver(config).show(url)
    assert str(info.value) == (
        'Image %s: the server did not answer within 1 seconds.' % url)


def _retrying_config(tmp_path, retries, extra=''):
    """A configuration whose image requests are retried ``retries`` times
    at once (no waiting between attempts)."""
    return conftest.write_config(
        tmp_path / 'retrying.conf', tmp_path / 'state',
        extra='[DEFAULT]\nservice_retry_interval = 0\n'
              '[http_image]\nnum_retries = %d\n%s' % (retries, extra))


def test_list_is_empty(config_file):
    assert _driver(config_file).list() == []


# The command line -------------------------------------------------------


def test_cli_builds_from_url_and_refuses_one_without_digest(
        capsys, config_file, image_server, www):
    cli = Cli(capsys, config_file)
    cli.ok('db', 'sync')
    url = image_server.url('disk.qcow2')
    bare = url.partition('#')[0]

    server = cli.ok('server', 'create', '--flavor', 'm1.tiny', '--image',
                    url, 'web-1', '-f', 'json').json()
    refused = cli('server', 'create', '--flavor', 'm1.tiny', '--image',
                  bare, 'web-2')

    assert server['status'] == 'ACTIVE', server['fault']
    assert server['image'] == url
    assert refused.code != 0
    assert refused.err_lines == [
        'Image URL %s needs the digest of its data in the fragment: '
        '#sha256=<64 hex digits> or #sha512=<128 hex digits>.' % bare]
    assert [s['Name'] for s in cli.ok('server', 'list', '-f',
                                      'json').json()] == ['web-1']

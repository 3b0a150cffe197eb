"""Images from servers that lie, stall, encode, redirect and fail: a server
of the test's own on 127.0.0.1 plays each, and the build either refuses
what it sent before it becomes a base, or (when the failure passes)
retries and builds."""

import gzip
import hashlib
import http.server
import os
import threading
from urllib import parse

import pytest

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow import exception
from spawnflow import imagecache
from tests import conftest
from tests.functional import leaks

GiB = 1024 ** 3
MiB = 1024 ** 2
WAIT = 60  # seconds: a bound on every Event wait, never a delay


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        server = self.server
        path, _sep, query = self.path.partition('?')
        ranged = 'Range' in self.headers
        with server.lock:
            server.requests.append((path, ranged))
        name = path.strip('/')
        if name == 'endless':
            return self._endless()
        if name == 'redirect':
            self.send_response(302)
            self.send_header('Location',
                             parse.parse_qs(query)['to'][0])
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        if name.startswith('flaky/'):
            with server.lock:
                server.failures_left -= 1
                fail = server.failures_left >= 0
            if fail:
                return self._send(503, b'try later')
            name = name[len('flaky/'):]
        if name.startswith('lying/'):
            # The ranged probe gets one file, the download another.
            probe, download = name[len('lying/'):].split('/')
            name = probe if ranged else download
        if name.startswith('stall/'):
            data = server.files[name[len('stall/'):]]
            return self._send(206, data) if ranged else self._stall(data)
        if name.startswith('gzip/'):
            return self._send(200, gzip.compress(
                server.files[name[len('gzip/'):]]), encoding='gzip')
        data = server.files[name]
        if ranged:
            data = data[:1024 * 1024]
        self._send(206 if ranged else 200, data)

    def _send(self, status, data, encoding=None):
        self.send_response(status)
        self.send_header('Content-Length', str(len(data)))
        if encoding:
            self.send_header('Content-Encoding', encoding)
        self.end_headers()
        self.wfile.write(data)

    def _endless(self):
        """A raw disk of zeros, chunked with no length, that never ends."""
        self.send_response(200)
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        chunk = b'\0' * MiB
        frame = b'%x\r\n%s\r\n' % (len(chunk), chunk)
        try:
            while not self.server.closing.is_set():
                self.wfile.write(frame)
                with self.server.lock:
                    self.server.sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stall(self, data):
        """Half the data, then nothing until the test ends."""
        self.send_response(200)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data[:len(data) // 2])
        self.wfile.flush()
        self.server.closing.wait(WAIT)

    def log_message(self, *args):
        pass


class HostileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host='127.0.0.1'):
        self.files = {}
        self.requests = []
        self.failures_left = 0
        self.sent = 0
        self.closing = threading.Event()
        self.lock = threading.Lock()
        super().__init__((host, 0), _Handler)
        self._thread = threading.Thread(target=self.serve_forever)
        self._thread.start()

    def base(self, host='127.0.0.1'):
        return 'http://%s:%d' % (host, self.server_port)

    def url(self, path, data, host='127.0.0.1'):
        return '%s/%s#sha256=%s' % (self.base(host), path,
                                    hashlib.sha256(data).hexdigest())

    def close(self):
        self.closing.set()
        self.shutdown()
        self.server_close()
        self._thread.join(WAIT)


@pytest.fixture
def server():
    server = HostileServer()
    yield server
    server.close()


@pytest.fixture
def qcow2(tmp_path):
    """A small qcow2 (64 MiB virtual) and one of 100 TiB, both a few
    hundred KiB of data."""
    small = conftest.make_qcow2(tmp_path / 'small.qcow2', '64M')
    huge = conftest.make_qcow2(tmp_path / 'huge.qcow2', '100T')
    with open(small, 'rb') as a, open(huge, 'rb') as b:
        return a.read(), b.read()


@pytest.fixture
def retrying_client(tmp_path):
    """A client whose image downloads are retried at once, twice."""
    config = conftest.write_config(
        tmp_path / 'spawnflow.conf', tmp_path / 'state',
        extra='[DEFAULT]\nservice_retry_interval = 0\n'
              '[http_image]\nnum_retries = 2\ntimeout = 2\n')
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        client.db_sync()
        yield client


def _base_dir_files(client):
    base_dir = client.services.image_cache.base_dir
    return sorted(os.listdir(base_dir)) if os.path.isdir(base_dir) else []


def _assert_refused_and_nothing_held(client, server, before, message):
    assert server['vm_state'] == 'error'
    assert server['fault']['message'].startswith('fetch-image failed: '), (
        server['fault'])
    assert message in server['fault']['message'], server['fault']
    assert leaks.snapshot(client) == before
    assert _base_dir_files(client) == []
    assert client.orphans() == []


def test_endless_raw_image_is_cut_at_the_flavor_disk(retrying_client,
                                                     server):
    """Chunked with no length, a raw image has no size to check up front:
    the download stops once it is larger than the flavor's disk could
    take, and nothing of it is kept."""
    client = retrying_client
    url = server.url('endless', b'any digest')
    before = leaks.snapshot(client)

    built = client.build('endless', vcpus=1, ram=64, disk=1, image=url)

    limit = imagecache.max_download_bytes(1 * GiB)
    _assert_refused_and_nothing_held(
        client, built, before,
        'sent more than %d bytes, more than the disk it is for takes'
        % limit)
    # It stopped at the limit, not at the end of a stream that has none.
    assert server.sent < limit + 64 * MiB


def test_encoded_answer_is_refused_not_decoded(retrying_client, server,
                                               qcow2):
    """spawnflow asks for identity; a server that gzips anyway would turn
    2 MB on the wire into 2 GiB on disk."""
    client = retrying_client
    server.files['disk.qcow2'] = qcow2[0]
    url = server.url('gzip/disk.qcow2', qcow2[0])

    with pytest.raises(exception.ImageError) as info:
        client.build('gzipped', flavor='m1.tiny', image=url)

    assert str(info.value) == (
        'Image %s: the server sent it with Content-Encoding gzip though '
        'asked for identity; it is refused.' % url)
    assert client.db.instance_list(read_deleted=True) == []


def test_download_that_differs_from_the_probe_is_checked_itself(
        retrying_client, server, qcow2):
    """The probe says 64 MiB, the download is a qcow2 of 100 TiB (with
    the digest the URL names): the downloaded file's own virtual size is
    checked before it becomes a base."""
    client = retrying_client
    small, huge = qcow2
    server.files.update({'small.qcow2': small, 'huge.qcow2': huge})
    url = server.url('lying/small.qcow2/huge.qcow2', huge)
    before = leaks.snapshot(client)

    built = client.build('liar', flavor='m1.tiny', image=url)

    _assert_refused_and_nothing_held(
        client, built, before, 'Image %s needs a disk of %d bytes; this one '
        'has %d.' % (url, 100 * 1024 ** 4, GiB))
    assert [r for r in server.requests if not r[1]] == [
        ('/lying/small.qcow2/huge.qcow2', False)]


def test_cached_base_too_large_for_this_flavor_is_refused(
        retrying_client, server, qcow2, tmp_path):
    """A base another build fetched for a larger disk is held to this
    build's disk too (and kept for the builds it fits). The server's
    probe answer under-reports, so only the cached file itself tells."""
    client = retrying_client
    two_gib = conftest.make_qcow2(tmp_path / 'two.qcow2', '2G')
    with open(two_gib, 'rb') as stream:
        data = stream.read()
    server.files.update({'small.qcow2': qcow2[0], 'two.qcow2': data})
    url = server.url('lying/small.qcow2/two.qcow2', data)
    large = client.build('large', vcpus=1, ram=64, disk=2, image=url)
    assert large['vm_state'] == 'active', large['fault']

    small = client.build('small', vcpus=1, ram=64, disk=1, image=url)

    assert small['vm_state'] == 'error'
    assert small['fault']['message'] == (
        'fetch-image failed: Image %s needs a disk of %d bytes; this one '
        'has %d.' % (url, 2 * GiB, GiB))
    assert os.path.exists(client.services.image_cache.base_path(url))


def test_stalled_transfer_is_retried_then_fails_clearly(
        retrying_client, server, qcow2):
    client = retrying_client
    server.files['disk.qcow2'] = qcow2[0]
    url = server.url('stall/disk.qcow2', qcow2[0])
    before = leaks.snapshot(client)

    built = client.build('stalled', flavor='m1.tiny', image=url)

    _assert_refused_and_nothing_held(
        client, built, before, 'Image %s: the transfer stalled: no data for '
        '2 seconds.' % url)
    downloads = [r for r in server.requests if not r[1]]
    assert len(downloads) == 3  # num_retries = 2


def test_transient_failures_are_retried_and_the_build_succeeds(
        retrying_client, server, qcow2):
    client = retrying_client
    server.files['disk.qcow2'] = qcow2[0]
    server.failures_left = 2
    url = server.url('flaky/disk.qcow2', qcow2[0])

    built = client.build('flaky', flavor='m1.tiny', image=url)

    assert built['vm_state'] == 'active', built['fault']
    assert server.failures_left == -len(server.requests) + 2
    assert [r for r in server.requests if not r[1]] == [
        ('/flaky/disk.qcow2', False)]  # one download


@pytest.mark.parametrize('target, problem', [
    ('{other}/disk.qcow2', 'is another host; give that URL instead.'),
    ('http://user:pw@127.0.0.1:{port}/disk.qcow2',
     'must not carry credentials: the image id is stored with the '
     'instance.'),
    ('ftp://127.0.0.1/disk.qcow2',
     'must be an http:// or https:// URL with a host.'),
    ('/disk.qcow2?' + 'x' * 300, 'characters long'),
])
def test_redirects_are_held_to_the_url_rules(retrying_client, server, qcow2,
                                             target, problem):
    client = retrying_client
    server.files['disk.qcow2'] = qcow2[0]
    target = target.format(other=server.base('127.0.0.2'),
                           port=server.server_port)
    url = '%s/redirect?to=%s#sha256=%s' % (
        server.base(), parse.quote(target, safe=''),
        hashlib.sha256(qcow2[0]).hexdigest())

    with pytest.raises(exception.SpawnflowError) as info:
        client.build('redirected', flavor='m1.tiny', image=url)

    assert problem in str(info.value)
    assert client.db.instance_list(read_deleted=True) == []
    assert ('/disk.qcow2', True) not in server.requests


def test_redirect_on_the_same_host_is_followed(retrying_client, server,
                                               qcow2):
    client = retrying_client
    server.files['disk.qcow2'] = qcow2[0]
    url = '%s/redirect?to=%s#sha256=%s' % (
        server.base(), parse.quote('/disk.qcow2', safe=''),
        hashlib.sha256(qcow2[0]).hexdigest())

    built = client.build('redirected', flavor='m1.tiny', image=url)

    assert built['vm_state'] == 'active', built['fault']
    assert ('/disk.qcow2', False) in server.requests

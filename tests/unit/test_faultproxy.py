"""FaultProxy: faithful forwarding, each fault, seeded outcomes, close()."""

import concurrent.futures
import hashlib
import http.server
import json
import random
import socket
import threading
import time
import urllib.parse

import pytest
import requests

from tests.fixtures.faultproxy import FaultProxy
from tests.fixtures.faultproxy import OUTCOMES

MIB = 1 << 20
_BLOCK = random.Random(0).randbytes(MIB)


def big_body(mib):
    """``mib`` MiB of reproducible bytes, one MiB at a time."""
    for index in range(mib):
        yield index.to_bytes(8, 'big') + _BLOCK[8:]


def sha256_of(pieces):
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


def read_chunked(rfile):
    pieces = []
    while True:
        size = int(rfile.readline().split(b';')[0], 16)
        if size == 0:
            break
        pieces.append(rfile.read(size))
        rfile.readline()
    while rfile.readline().strip():
        pass
    return b''.join(pieces)


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    """Echoes requests under /v3/echo and serves large bodies."""

    protocol_version = 'HTTP/1.1'

    def handle_any(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            body = read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.server.record(self.command, self.path, self.headers, body)
        path = urllib.parse.urlsplit(self.path).path
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            self.path).query))
        if path == '/v3/echo':
            self.echo(body)
        elif path == '/v3/missing':
            self.send_json(404, {'itemNotFound': {'code': 404,
                                                  'message': 'no such'}})
        elif path == '/v3/empty':
            self.send_response(204)
            self.end_headers()
        elif path == '/v3/big':
            self.send_big(int(query.get('mib', 1)), chunked=False)
        elif path == '/v3/big-chunked':
            self.send_big(int(query.get('mib', 1)), chunked=True)
        else:
            self.send_json(400, {'badRequest': {'code': 400}})

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def echo(self, body):
        self.send_json(200, {
            'method': self.command,
            'path': self.path,
            'headers': list(self.headers.items()),
            'body_length': len(body),
            'body_sha256': hashlib.sha256(body).hexdigest()},
            extra=[('X-Twice', 'a'), ('X-Twice', 'b'),
                   ('X-OpenStack-Request-ID', 'req-upstream')])

    def send_json(self, status, document, extra=()):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def send_big(self, mib, chunked):
        self.send_response(200)
        self.send_header('Content-Type', 'application/octet-stream')
        if chunked:
            self.send_header('Transfer-Encoding', 'chunked')
        else:
            self.send_header('Content-Length', str(mib * MIB))
        self.end_headers()
        if self.command == 'HEAD':
            return
        for piece in big_body(mib):
            if chunked:
                piece = b'%x\r\n%s\r\n' % (len(piece), piece)
            self.wfile.write(piece)
        if chunked:
            self.wfile.write(b'0\r\n\r\n')

    def log_message(self, format, *args):
        pass


class Upstream(http.server.ThreadingHTTPServer):
    """A tiny service on 127.0.0.1 that records the requests it gets."""

    def __init__(self):
        super().__init__(('127.0.0.1', 0), UpstreamHandler)
        self.seen = []
        self.received = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_port}/v3'

    def record(self, method, path, headers, body):
        with self._lock:
            self.seen.append((method, path, headers, body))
        self.received.set()

    def paths(self):
        with self._lock:
            return [path for _, path, _, _ in self.seen]

    def handle_error(self, request, client_address):
        pass  # the proxy drops connections on purpose


@pytest.fixture
def upstream():
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={'poll_interval': 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def make_proxy(upstream):
    proxies = []

    def make(seed=1, **kwargs):
        proxy = FaultProxy(upstream.url, seed, **kwargs).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        print(proxy.summary())
        for record in proxy.log:
            print('  %s %s -> %s' % record)
        proxy.close()


@pytest.fixture
def session():
    with requests.Session() as sess:
        yield sess


def echo(session, proxy, method='GET', path='/echo', **kwargs):
    return session.request(method, proxy.endpoint + path, timeout=30,
                           **kwargs)


def upstream_headers(response):
    return {name.lower(): value for name, value in response.json()['headers']}


def proxy_threads():
    return [t for t in threading.enumerate()
            if t.name.startswith('faultproxy-')]


# ---------------------------------------------------------- forwarding

def test_endpoint_keeps_the_path_prefix(upstream, make_proxy):
    proxy = make_proxy()
    url = urllib.parse.urlsplit(proxy.endpoint)
    assert (url.hostname, url.path) == ('127.0.0.1', '/v3')
    assert url.port not in (None, upstream.server_port)


def test_get_is_forwarded_faithfully(upstream, make_proxy, session):
    proxy = make_proxy()
    response = echo(session, proxy, path='/echo?a=1&b=x%20y',
                    headers={'X-Auth-Token': 'admin:project',
                             'OpenStack-API-Version': 'volume 3.44'})
    assert response.status_code == 200
    document = response.json()
    assert document['method'] == 'GET'
    assert document['path'] == '/v3/echo?a=1&b=x%20y'
    headers = upstream_headers(response)
    assert headers['host'] == f'127.0.0.1:{upstream.server_port}'
    assert headers['x-auth-token'] == 'admin:project'
    assert headers['openstack-api-version'] == 'volume 3.44'
    assert headers['connection'] == 'close'  # not the client's keep-alive
    assert response.raw.headers.getlist('X-Twice') == ['a', 'b']
    assert response.headers['X-OpenStack-Request-ID'] == 'req-upstream'
    assert proxy.requests == 1
    assert proxy.stats == dict.fromkeys(OUTCOMES, 0) | {'forwarded': 1}
    assert proxy.log == [('GET', '/v3/echo?a=1&b=x%20y', 'forwarded')]


def test_post_body_is_forwarded(upstream, make_proxy, session):
    proxy = make_proxy()
    payload = json.dumps({'volume': {'size': 1, 'name': 'v' * 1000}})
    response = echo(session, proxy, 'POST', data=payload,
                    headers={'Content-Type': 'application/json'})
    document = response.json()
    assert document['method'] == 'POST'
    assert document['body_length'] == len(payload)
    assert document['body_sha256'] == sha256_of([payload.encode()])
    assert upstream_headers(response)['content-length'] == str(len(payload))
    assert upstream.seen[0][3] == payload.encode()


def test_chunked_upload_is_forwarded_chunked(upstream, make_proxy, session):
    proxy = make_proxy()
    pieces = [b'first', b'', b'x' * 100000] + list(big_body(3))
    response = echo(session, proxy, 'PUT',
                    data=(piece for piece in pieces if piece))
    document = response.json()
    assert document['body_length'] == sum(map(len, pieces))
    assert document['body_sha256'] == sha256_of(pieces)
    headers = upstream_headers(response)
    assert headers['transfer-encoding'] == 'chunked'
    assert 'content-length' not in headers


def test_status_codes_and_empty_bodies_pass(upstream, make_proxy, session):
    proxy = make_proxy()
    missing = echo(session, proxy, path='/missing')
    assert missing.status_code == 404
    assert missing.json()['itemNotFound']['message'] == 'no such'
    empty = echo(session, proxy, 'DELETE', path='/empty')
    assert (empty.status_code, empty.content) == (204, b'')
    head = echo(session, proxy, 'HEAD', path='/big?mib=3')
    assert head.status_code == 200
    assert head.headers['Content-Length'] == str(3 * MIB)
    assert head.content == b''
    after = echo(session, proxy)  # the connection is still in step
    assert after.json()['method'] == 'GET'
    assert proxy.connections == 1


def test_large_download_is_streamed(make_proxy, session):
    proxy = make_proxy()
    with echo(session, proxy, path='/big?mib=50', stream=True) as response:
        assert response.headers['Content-Length'] == str(50 * MIB)
        digest = sha256_of(response.iter_content(MIB))
    assert digest == sha256_of(big_body(50))


def test_chunked_download_is_rechunked(make_proxy, session):
    proxy = make_proxy()
    with echo(session, proxy, path='/big-chunked?mib=8',
              stream=True) as response:
        assert response.headers['Transfer-Encoding'] == 'chunked'
        assert 'Content-Length' not in response.headers
        digest = sha256_of(response.iter_content(MIB))
    assert digest == sha256_of(big_body(8))
    assert echo(session, proxy).status_code == 200
    assert proxy.connections == 1


def test_client_connection_is_kept_alive(upstream, make_proxy, session):
    proxy = make_proxy()
    for index in range(5):
        assert echo(session, proxy, 'POST', path=f'/echo?n={index}',
                    data=b'body').status_code == 200
    assert proxy.connections == 1
    assert len(upstream.seen) == 5


def test_unreachable_upstream_gives_502(upstream, make_proxy, session):
    proxy = make_proxy()
    upstream.shutdown()
    upstream.server_close()
    response = echo(session, proxy)
    assert response.status_code == 502
    assert response.json()['badGateway']['code'] == 502


# --------------------------------------------------------------- faults

def test_500_never_reaches_the_upstream(upstream, make_proxy, session):
    proxy = make_proxy(rate=1.0, faults=('500',))
    responses = [
        echo(session, proxy),
        echo(session, proxy, 'POST', json={'volume': {'size': 1}}),
        echo(session, proxy, 'PUT', data=iter([b'chunk'] * 3)),
        echo(session, proxy, 'PUT', data=b''.join(big_body(8))),
    ]
    for response in responses:
        assert response.status_code == 500
        assert response.json()['computeFault']['code'] == 500
        assert response.headers['X-OpenStack-Request-ID'].startswith('req-')
    assert upstream.seen == []
    assert proxy.stats['500'] == proxy.requests == 4
    assert proxy.connections == 1  # bodies were read: keep-alive holds


def test_reset_drops_the_connection(upstream, make_proxy, session):
    proxy = make_proxy(seed=3, rate=1.0, faults=('reset',))
    for index in range(20):
        with pytest.raises(requests.exceptions.ConnectionError):
            echo(session, proxy, 'POST', path=f'/echo?n={index}',
                 data=b'payload %d' % index)
    stats = proxy.stats
    assert stats['reset-before'] > 0 and stats['reset-after'] > 0
    assert stats['reset-before'] + stats['reset-after'] == 20
    # Answers lost after the upstream did the work.
    assert upstream.paths() == [record.path for record in proxy.log
                                if record.outcome == 'reset-after']


def test_truncate_breaks_a_download_off(make_proxy, session):
    proxy = make_proxy(rate=1.0, faults=('truncate',))
    for path in ('/big?mib=8', '/big-chunked?mib=2'):
        received = 0
        with pytest.raises((requests.exceptions.ChunkedEncodingError,
                            requests.exceptions.ConnectionError)):
            with echo(session, proxy, path=path, stream=True) as response:
                assert response.status_code == 200
                for piece in response.iter_content(MIB):
                    received += len(piece)
        assert received < 8 * MIB
    assert proxy.stats['truncate'] == 2


def test_delay_holds_the_answer_back(make_proxy, session):
    proxy = make_proxy(rate=1.0, faults=('delay',), delay=(0.2, 0.3))
    start = time.monotonic()
    response = echo(session, proxy)
    elapsed = time.monotonic() - start
    assert response.status_code == 200
    assert 0.2 <= elapsed < 5.0
    assert proxy.stats['delay'] == 1


def test_delayed_requests_are_served_in_parallel(make_proxy):
    proxy = make_proxy(rate=1.0, faults=('delay',), delay=(0.3, 0.3))

    def get(index):
        return requests.get(f'{proxy.endpoint}/echo?n={index}',
                            timeout=30).status_code

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(get, range(8)))
    elapsed = time.monotonic() - start
    assert statuses == [200] * 8
    assert 0.3 <= elapsed < 8 * 0.3  # not one after the other
    assert proxy.stats['delay'] == proxy.connections == 8


def test_rate_and_faults_change_while_running(upstream, make_proxy, session):
    proxy = make_proxy()
    assert echo(session, proxy).status_code == 200
    proxy.rate, proxy.faults = 1.0, '500'
    assert echo(session, proxy).status_code == 500
    proxy.rate = 0
    assert echo(session, proxy).status_code == 200
    assert [r.outcome for r in proxy.log] == ['forwarded', '500',
                                              'forwarded']
    with pytest.raises(ValueError):
        proxy.rate = 1.5
    with pytest.raises(ValueError):
        proxy.faults = ('500', 'explode')
    assert (proxy.rate, proxy.faults) == (0.0, ('500',))


def _observe(proxy, count):
    """Send ``count`` sequential requests; return (outcomes, observed)."""
    observed = []
    with requests.Session() as sess:
        for index in range(count):
            try:
                response = echo(sess, proxy, path=f'/echo?n={index}')
                observed.append(response.status_code)
            except requests.exceptions.RequestException:
                observed.append('error')
    return [record.outcome for record in proxy.log], observed


def test_same_seed_gives_same_outcomes(make_proxy):
    kwargs = dict(rate=0.6, faults=('500', 'reset', 'delay', 'truncate'),
                  delay=(0.0, 0.01))
    first, first_seen = _observe(make_proxy(seed=42, **kwargs), 40)
    second, second_seen = _observe(make_proxy(seed=42, **kwargs), 40)
    other, _ = _observe(make_proxy(seed=43, **kwargs), 40)
    assert first == second
    assert first_seen == second_seen
    assert first != other
    assert set(first) == set(OUTCOMES)
    expected = {'forwarded': 200, 'delay': 200, '500': 500,
                'reset-before': 'error', 'reset-after': 'error',
                'truncate': 'error'}
    assert first_seen == [expected[outcome] for outcome in first]


# ---------------------------------------------------------------- close

def test_close_is_prompt_with_a_delayed_request(upstream, make_proxy):
    proxy = make_proxy(rate=1.0, faults=('delay',), delay=(60.0, 60.0))
    port = proxy.port
    errors = []

    def client():
        try:
            requests.get(proxy.endpoint + '/echo', timeout=30)
        except requests.exceptions.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    assert upstream.received.wait(10)  # forwarded; now held back
    start = time.monotonic()
    proxy.close()
    assert time.monotonic() - start < 2.0
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], requests.exceptions.ConnectionError)
    assert proxy_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', port), timeout=5).close()


def test_close_ends_idle_keep_alive_connections(make_proxy, session):
    proxy = make_proxy()
    assert echo(session, proxy).status_code == 200  # stays open, idle
    start = time.monotonic()
    proxy.close()
    proxy.close()  # a second close is harmless
    assert time.monotonic() - start < 2.0
    assert proxy_threads() == []


def test_bad_arguments_are_refused(upstream):
    with pytest.raises(ValueError):
        FaultProxy('https://127.0.0.1:1/v3', seed=1)
    with pytest.raises(ValueError):
        FaultProxy(upstream.url, seed=1, faults=())
    with pytest.raises(ValueError):
        FaultProxy(upstream.url, seed=1, delay=(0.5, 0.1))

"""Every keystoneauth adapter option of [cinder] and [glance] reaches the
client: the real drivers, keystoneauth and python-cinderclient and
python-glanceclient, against loopback HTTP servers of the test's own that
record what they are asked (a keystone handing out a catalog, a service
answering a status, a port that drops every connection)."""

import http.server
import json
import socketserver
import threading

import pytest

from spawnflow import conf as spawnflow_conf
from spawnflow.drivers.image import glance
from spawnflow.drivers.volume import cinder
from spawnflow import exception
from tests import conftest

TOKEN = 'adapter-test-token-0b1e'


class _Recorder(http.server.ThreadingHTTPServer):
    """Records each request's path; answers keystone's token request with
    a catalog of this server's own URLs (a path per region and interface)
    and every other request with ``status``."""

    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _RecordingHandler)
        self.url = 'http://127.0.0.1:%d' % self.server_address[1]
        self.paths = []
        self.status = 404

    def catalog(self):
        return [{'type': service, 'name': service, 'id': service,
                 'endpoints': [
                     {'id': '%s-%s-%s' % (service, region, interface),
                      'region': region, 'region_id': region,
                      'interface': interface,
                      'url': '%s/%s/%s/%s' % (self.url, service, region,
                                              interface)}
                     for region in ('one', 'two')
                     for interface in ('public', 'internal', 'admin')]}
                for service in ('image', 'block-storage')]


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        self.server.paths.append(self.path)
        if self.path == '/v3/auth/tokens':
            self._answer(201, {'token': {
                'methods': ['token'], 'expires_at': '2099-01-01T00:00:00Z',
                'user': {'id': 'u', 'name': 'u',
                         'domain': {'id': 'default', 'name': 'Default'}},
                'project': {'id': 'p', 'name': 'p',
                            'domain': {'id': 'default', 'name': 'Default'}},
                'catalog': self.server.catalog()}})
        else:
            self._answer(self.server.status,
                         {'error': {'message': 'recorded', 'code': 0}})

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.do_GET()

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        if status == 201:
            self.send_header('X-Subject-Token', TOKEN)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class _Dropper(socketserver.ThreadingTCPServer):
    """Accepts each connection and closes it before any answer."""

    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _DropHandler)
        self.url = 'http://127.0.0.1:%d' % self.server_address[1]
        self.connections = 0


class _DropHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.connections += 1


def _serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope='module')
def recorder():
    with _serving(_Recorder()) as server:
        yield server
        server.shutdown()


@pytest.fixture
def paths(recorder):
    recorder.paths.clear()
    recorder.status = 404
    return recorder.paths


def _conf(tmp_path, group, options, auth_url=None, endpoint=None):
    """A configuration whose ``group`` has ``options``, on a keystone
    (v3token) or on an endpoint without one (admin_token), and no retries
    of spawnflow's own, so every request seen is keystoneauth's."""
    if auth_url:
        auth = 'auth_type = v3token\nauth_url = %s/v3\ntoken = %s\n' % (
            auth_url, TOKEN)
    else:
        auth = 'auth_type = admin_token\nendpoint = %s\ntoken = %s\n' % (
            endpoint, TOKEN)
    extra = '[cinder]\nhttp_retries = 0\n[glance]\nnum_retries = 0\n'
    extra += '[%s]\n%s%s\n' % (group, auth, '\n'.join(
        '%s = %s' % item for item in options.items()))
    return spawnflow_conf.load([conftest.write_config(
        tmp_path / 'spawnflow.conf', tmp_path / 'state', extra=extra)])


def _glance_show(conf):
    glance.GlanceImageDriver(conf).show('an-image')


def _cinder_limits(conf):
    cinder.CinderVolumeDriver(conf).limits()


def test_catalog_interfaces_and_region(tmp_path, recorder, paths):
    """valid_interfaces is tried in its order and region_name picks the
    region, for both services; the default is internal, then public."""
    with pytest.raises(exception.ImageNotFound):
        _glance_show(_conf(tmp_path, 'glance', {}, auth_url=recorder.url))
    assert paths[-1].startswith('/image/one/internal/v2/images/an-image')

    with pytest.raises(exception.ImageNotFound):
        _glance_show(_conf(tmp_path, 'glance', {
            'valid_interfaces': 'admin,public', 'region_name': 'two'},
            auth_url=recorder.url))
    assert paths[-1].startswith('/image/two/admin/v2/images/an-image')

    with pytest.raises(exception.SpawnflowError):
        _cinder_limits(_conf(tmp_path, 'cinder', {
            'valid_interfaces': 'public', 'region_name': 'two'},
            auth_url=recorder.url))
    assert paths[-1] == '/block-storage/two/public/limits'
    assert paths.count('/v3/auth/tokens') == 3


def test_endpoint_override_and_versions(tmp_path, recorder, paths):
    """endpoint_override wins over the catalog; min_version and
    max_version make keystoneauth discover the versions the endpoint
    offers before the first request, and reach the client's adapter."""
    override = recorder.url + '/elsewhere'
    with pytest.raises(exception.ImageNotFound):
        _glance_show(_conf(tmp_path, 'glance', {
            'endpoint_override': override}, auth_url=recorder.url))
    assert paths[-1].startswith('/elsewhere/v2/images/an-image')

    paths.clear()
    conf = _conf(tmp_path, 'glance', {
        'min_version': '2.0', 'max_version': '2.latest'},
        auth_url=recorder.url)
    driver = glance.GlanceImageDriver(conf)
    adapter = driver._client.http_client
    assert (adapter.min_version, adapter.max_version) == ('2.0', '2.latest')
    with pytest.raises(exception.SpawnflowError):
        driver.show('an-image')
    assert paths[1] == '/image/one/internal', paths

    conf = _conf(tmp_path, 'cinder', {'version': '3'},
                 endpoint=recorder.url)
    assert cinder.CinderVolumeDriver(conf)._client.client.version == '3'


@pytest.mark.parametrize('group, call', [('glance', _glance_show),
                                         ('cinder', _cinder_limits)])
def test_retries(tmp_path, recorder, paths, group, call):
    """connect_retries: a port that drops every connection sees N+1;
    status_code_retries: a service answering 503 sees N+1 requests."""
    with _serving(_Dropper()) as dropper:
        with pytest.raises(exception.ServiceUnavailable):
            call(_conf(tmp_path, group, {
                'connect_retries': 2, 'connect_retry_delay': 0.01},
                endpoint=dropper.url))
        dropper.shutdown()
    assert dropper.connections == 3

    recorder.status = 503
    with pytest.raises(exception.ServiceUnavailable):
        call(_conf(tmp_path, group, {
            'status_code_retries': 3, 'status_code_retry_delay': 0.01},
            endpoint=recorder.url))
    assert len(paths) == 4, paths
    assert len(set(paths)) == 1


def test_conflicting_options_refused(tmp_path, recorder):
    """Options keystoneauth cannot combine fail in one line naming the
    group, before any request."""
    conf = _conf(tmp_path, 'cinder', {'version': '3', 'min_version': '3.0'},
                 endpoint=recorder.url)
    with pytest.raises(exception.SpawnflowError,
                       match=r'^\[cinder\] version is mutually exclusive'):
        _cinder_limits(conf)
    conf = _conf(tmp_path, 'glance', {'valid_interfaces': 'private'},
                 endpoint=recorder.url)
    with pytest.raises(exception.SpawnflowError,
                       match=r"^\[glance\] 'private' is not a valid value"):
        _glance_show(conf)

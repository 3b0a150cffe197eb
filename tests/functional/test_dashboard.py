"""The read-only dashboard over HTTP: its pages and fragments for real
builds, that nothing on it changes state (every route GET only, and a
database engine that refuses writes), no secret on it, and the
``spawnflow dashboard`` and ``spawnflow conductor`` processes serving it.
(The page in a real browser: test_dashboard_browser.py.)"""

import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow import dashboard
from spawnflow import exception
from spawnflow import inspection
from tests import conftest
from tests.functional.test_cli import MARKUP_NAME

BLANK = conftest.BLANK_VOLUME
SECRET = 'hunter2-do-not-show'


@pytest.fixture
def reader(client, config_file):
    reader = inspection.Reader(spawnflow_conf.load([config_file]))
    yield reader
    reader.close()


@pytest.fixture
def web(reader):
    return dashboard.create_app(reader).test_client()


def _routes(uuid):
    return ['/', '/servers', '/servers/%s' % uuid,
            '/servers/%s/flow' % uuid, '/servers/%s/diagram.svg' % uuid,
            '/static/dashboard.js']


def test_pages_show_the_builds_and_a_build_flow(client, image, web):
    server = client.build(MARKUP_NAME, flavor='m1.tiny', image=image['id'],
                          block_devices=[BLANK, BLANK])
    page = web.get('/')
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'web &lt;1&gt; &amp; &#34;db&#34; &#39;two&#39;' in html
    assert MARKUP_NAME not in html
    assert 'ACTIVE' in html and client.services.host in html

    flow = web.get('/servers/%s' % server['uuid']).get_data(as_text=True)
    assert flow.count('<svg') == 1
    atoms = [atom.name for atom in inspection.plan(
        'create', [(0, 'image', 'local'), (1, 'blank', 'volume'),
                   (2, 'blank', 'volume')]).atoms]
    for name in atoms:
        assert 'id="task&#45;%s" class="node state&#45;success"' % (
            name.replace('-', '&#45;')) in flow
        assert '<tr data-task="%s" data-state="SUCCESS">' % name in flow
    svg = web.get('/servers/%s/diagram.svg' % server['uuid'])
    assert svg.mimetype == 'image/svg+xml'
    assert svg.get_data(as_text=True).startswith('<svg')


def test_a_fragment_answers_304_until_the_build_moves(client, image, web):
    server = client.build('tagged', flavor='m1.tiny', image=image['id'])
    first = web.get('/servers/%s/flow' % server['uuid'])
    etag = first.headers['ETag']
    again = web.get('/servers/%s/flow' % server['uuid'],
                    headers={'If-None-Match': etag})
    assert again.status_code == 304 and again.get_data() == b''
    client.delete(server['uuid'])
    moved = web.get('/servers/%s/flow?action=all' % server['uuid'],
                    headers={'If-None-Match': etag})
    assert moved.status_code == 200
    assert 'data-action="delete"' in moved.get_data(as_text=True)


def test_unknown_servers_and_actions(web):
    missing = web.get('/servers/00000000-0000-0000-0000-000000000000')
    assert missing.status_code == 404
    assert 'could not be found' in missing.get_data(as_text=True)
    assert web.get('/servers/x/flow?action=rebuild').status_code == 400
    assert web.get('/servers/x/diagram.svg?action=all').status_code == 400


def _state(client):
    """Everything a request could change: instance rows, actions, events,
    flow details and atoms."""
    with client.db.engine.connect() as conn:
        return {table: sorted(map(tuple, conn.execute(sa.text(
            'SELECT * FROM %s' % table)))) for table in (
            'instances', 'instance_actions', 'instance_actions_events',
            'flowdetails', 'atomdetails', 'flow_owners')}


@pytest.mark.parametrize('method', ['POST', 'PUT', 'PATCH', 'DELETE'])
def test_nothing_on_it_changes_state(client, image, web, method):
    server = client.build('kept', flavor='m1.tiny', image=image['id'])
    before = _state(client)
    for route in _routes(server['uuid']):
        answer = web.open(route, method=method, data={'action': 'delete'})
        assert answer.status_code == 405, route
        assert set(answer.headers['Allow'].split(', ')) == {
            'GET', 'HEAD', 'OPTIONS'}, route
    assert _state(client) == before


@pytest.mark.parametrize('database', ['sqlite', 'postgresql', 'mariadb'])
def test_its_database_engine_refuses_writes(request, tmp_path, database):
    if database == 'sqlite':
        connection = None
    else:
        connection = request.getfixturevalue('%s_url' % database)
    config = conftest.write_config(tmp_path / 'c.conf', tmp_path / 'state',
                                   connection=connection)
    with api.Client(conf=spawnflow_conf.load([config])) as writer:
        writer.db_sync()
        deployment = writer.db.deployment_tag()
    reader = inspection.Reader(spawnflow_conf.load([config]))
    try:
        assert reader.instances() == []
        with pytest.raises(sa.exc.DBAPIError, match='(?i)read.?only'):
            with reader.db.engine.begin() as conn:
                conn.execute(sa.text(
                    "UPDATE deployment SET tag = 'changed'"))
    finally:
        reader.close()
    with api.Client(conf=spawnflow_conf.load([config])) as writer:
        assert writer.db.deployment_tag() == deployment


def test_no_database_file_is_an_error_and_creates_nothing(tmp_path):
    config = conftest.write_config(tmp_path / 'c.conf', tmp_path / 'state')
    with pytest.raises(exception.SpawnflowError,
                       match='No database at .*: run `spawnflow db sync`'):
        inspection.Reader(spawnflow_conf.load([config]))
    assert not (tmp_path / 'state').exists()


def test_other_hosts_names_are_refused(client, reader):
    """A page elsewhere that resolves its own name to the dashboard's
    address (DNS rebinding) gets 400: only loopback names and the
    trusted ones are answered."""
    web = dashboard.create_app(reader, trusted_hosts=[
        'dash.example']).test_client()
    for host in ('localhost:8470', '127.0.0.1', 'dash.example:8470'):
        assert web.get('/', headers={'Host': host}).status_code == 200, host
    for host in ('evil.example', 'evil.example:8470', 'localhost.evil'):
        assert web.get('/', headers={'Host': host}).status_code == 400, host


def test_a_database_gone_meanwhile_is_a_503_and_not_a_new_file(
        client, reader, tmp_path):
    database = tmp_path / 'state' / 'spawnflow.sqlite'
    client.close()
    database.rename(tmp_path / 'moved.sqlite')
    reader.db.engine.dispose()
    answer = dashboard.create_app(reader).test_client().get('/')
    assert answer.status_code == 503
    text = answer.get_data(as_text=True)
    assert 'cannot be read now' in text and 'sqlite' not in text
    assert not database.exists()


def test_no_secret_reaches_a_page(client, image, web, monkeypatch):
    """A cloud error carrying a password (as a volume driver's can,
    with its connection info) is masked on every page and fragment."""
    leaky = 'attach failed: {"auth_password": "%s"} password=%s' % (
        SECRET, SECRET)

    def fail(*args, **kwargs):
        raise exception.SpawnflowError(leaky)
    monkeypatch.setattr(type(client.services.volume), 'attachment_create',
                        fail)
    server = client.build('leaky', flavor='m1.tiny', image=image['id'],
                          block_devices=[BLANK])
    assert server['vm_state'] == 'error'
    seen = ''
    for route in _routes(server['uuid']):
        seen += web.get(route).get_data(as_text=True)
    assert 'attach failed' in seen
    assert SECRET not in seen


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.read().decode()


def test_spawnflow_dashboard_serves_until_sigterm(client, image,
                                                  config_file):
    server = client.build('served', flavor='m1.tiny', image=image['id'])
    process = subprocess.Popen(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'dashboard', '--port', '0'], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith('Dashboard on http://127.0.0.1:'), (
            line, process.stderr.read() if process.poll() else '')
        url = line.split()[2]
        status, html = _get(url)
        assert status == 200 and 'served' in html
        status, html = _get(url + 'servers/%s' % server['uuid'])
        assert 'state&#45;success' in html
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    with pytest.raises(urllib.error.URLError):
        _get(url)


@pytest.mark.parametrize('port', ['99999', '-1', 'http'])
def test_spawnflow_dashboard_refuses_a_bad_port(config_file, port):
    result = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
         config_file, 'dashboard', '--port', port], capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith(
        'argument --port: a port is a number from 0 to 65535, not %r'
        % port)


def test_spawnflow_dashboard_without_a_database(tmp_path):
    config = conftest.write_config(tmp_path / 'c.conf', tmp_path / 'state')
    result = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file', config,
         'dashboard', '--port', '0'], capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'No database at %s: run `spawnflow db sync` first.'
        % (tmp_path / 'state' / 'spawnflow.sqlite')]


def test_the_conductor_serves_the_dashboard(tmp_path, redis_server,
                                            jobboard_namespace):
    config = conftest.write_config(
        tmp_path / 'board.conf', tmp_path / 'state',
        extra=redis_server.config(jobboard_namespace)
        + '[conductor]\npoll_interval = 0.1\nserve_dashboard = true\n'
        '[dashboard]\nport = 0\n')
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        client.db_sync()
        image = client.image_create('i', conftest.make_qcow2(
            tmp_path / 'i.qcow2'), 'qcow2')
        process = subprocess.Popen(
            [sys.executable, '-m', 'spawnflow.cli.main', '-v',
             '--config-file', config, 'conductor'], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        try:
            url = _dashboard_url(process)
            server = client.build('conducted', flavor='m1.tiny',
                                  image=image['id'])
            assert server['vm_state'] == 'active'
            _status, html = _get(url)
            assert 'conducted' in html and 'ACTIVE' in html
            _status, fragment = _get(url + 'servers/%s/flow'
                                     % server['uuid'])
            assert fragment.count('data-state="SUCCESS"') == len(
                inspection.plan('create', [(0, 'image', 'local')]).atoms)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=120)
        assert process.returncode == 0


def _dashboard_url(process):
    """The URL the conductor logs (-v) once its dashboard listens."""
    for line in process.stderr:
        if 'Dashboard on ' in line:
            return line.split('Dashboard on ')[1].split()[0]
    raise AssertionError('the conductor exited without serving: rc %s'
                         % process.wait())

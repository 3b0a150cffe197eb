"""Builds and deletes against real Glance and Cinder behind fault proxies of
the test's own (tests/fixtures/faultproxy.py), which fail a seeded share
of requests: HTTP 500, connections reset before or after the request was
processed, delayed answers, and (Glance) image downloads cut short.

At 20%, every build ends ACTIVE and every delete deletes: the failures are
transient and every call is retried as an idempotent unit, so nothing is
doubled and nothing leaks. At 100% (from the moment each build is
admitted), every build ends ERROR with a clear fault and its undo
incomplete; once the proxies heal, ``resume`` finishes every undo and
nothing is held.
"""

import concurrent.futures
import os
import uuid as uuidlib

import pytest
from taskflow import states

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from tests import conftest
from tests.crash import checks
from tests.fixtures import faultproxy
from tests.fixtures import openstack as osf
from tests.functional import openstack
from tests.functional import transitions

SEED = int(os.environ.get('SPAWNFLOW_FAULT_SEED', '20261201'))
BUILDS = 30
THREADS = 3
BLANK = conftest.BLANK_VOLUME
#: Small enough for all the builds to fit the test driver's host at once.
SMALL = {'vcpus': 1, 'ram': 64, 'disk': 1}


@pytest.fixture
def proxies(cinder, glance):
    with faultproxy.FaultProxy(cinder.endpoint, seed=SEED) as cinder_proxy, \
            faultproxy.FaultProxy(
                glance.endpoint, seed=SEED + 1,
                faults=('500', 'reset', 'delay', 'truncate')) as glance_proxy:
        yield cinder_proxy, glance_proxy
        print('\nfault seed %d (SPAWNFLOW_FAULT_SEED replays it)' % SEED)
        print('cinder proxy: %s' % cinder_proxy.summary())
        print('glance proxy: %s' % glance_proxy.summary())


def _config(tmp_path, glance, cinder, cinder_client, proxies, retries):
    cinder_proxy, glance_proxy = proxies
    project_id = uuidlib.uuid4().hex
    # Room for every build's volume at once (Cinder's default is 10).
    cinder_client.quotas.update(project_id, volumes=BUILDS * 2,
                                gigabytes=BUILDS * 4)
    return openstack.config(
        tmp_path, glance, cinder, project_id=project_id,
        cinder_endpoint=cinder_proxy.endpoint,
        glance_endpoint=glance_proxy.endpoint, extra=f"""
[DEFAULT]
service_retry_interval = 0.05
service_max_retry_interval = 0.5
[cinder]
http_retries = {retries}
timeout = 10
[glance]
num_retries = {retries}
timeout = 10
""")


@pytest.fixture
def config(tmp_path, glance, cinder, cinder_client, proxies):
    """Retried enough that a call fails 11 times in a row at 20% only
    with a chance of 2e-8."""
    return _config(tmp_path, glance, cinder, cinder_client, proxies, 10)


@pytest.fixture
def impatient_config(tmp_path, glance, cinder, cinder_client, proxies):
    """Retried once: at 100% every call fails anyway."""
    return _config(tmp_path, glance, cinder, cinder_client, proxies, 1)


@pytest.fixture
def image(glance_client, tmp_path):
    return openstack.upload_qcow2(glance_client, tmp_path)


def _client(config):
    return api.Client(conf=spawnflow_conf.load([config]))


def _set_rate(proxies, rate):
    for proxy in proxies:
        proxy.rate = rate


def _in_threads(function, items):
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(function, items))


def _assert_nothing_left(client, uuids):
    """No domain, volume, attachment or directory of these instances, no
    orphan, and Cinder has deleted every volume of the project."""
    assert client.orphans() == []
    for uuid in uuids:
        assert client.services.virt.state(uuid) is None
        assert not os.path.exists(client.services.virt.instance_dir(uuid))
    osf.wait_for(lambda: client.services.volume.list() == [], timeout=120,
                 what='Cinder to delete every volume of the project')


def test_builds_and_deletes_at_20_percent_failures(config, proxies, image):
    with _client(config) as client:
        client.db_sync()
    _set_rate(proxies, 0.2)

    def build(number):
        with _client(config) as client:
            return client.build('flaky-%d' % number, image=image['id'],
                                block_devices=[BLANK], **SMALL)

    servers = _in_threads(build, range(BUILDS))

    with _client(config) as client:
        for server in servers:
            checks.assert_active(client, client.show(server['uuid']), [1])
        assert client.orphans() == []
        uuids = [s['uuid'] for s in servers]

    def delete(uuid):
        with _client(config) as client:
            client.delete(uuid)
    _in_threads(delete, uuids)

    _set_rate(proxies, 0.0)
    with _client(config) as client:
        assert client.list() == []
        assert client.resume() == []
        _assert_nothing_left(client, uuids)
    cinder_proxy, glance_proxy = proxies
    for proxy in proxies:
        counts = proxy.stats
        assert counts['500'] and counts['delay'] and (
            counts['reset-before'] + counts['reset-after'])
    assert glance_proxy.stats['truncate']


def test_builds_at_100_percent_failures_end_error_then_resume_undoes(
        impatient_config, proxies, image):
    for proxy in proxies:
        proxy.faults = ('500', 'reset')  # (a delay alone is no failure)
    with _client(impatient_config) as client:
        client.db_sync()
        servers = []
        for number in range(BUILDS):
            _set_rate(proxies, 0.0)  # admitted...
            transitions.at(client, 'mark-building', 'SUCCESS',
                           lambda: _set_rate(proxies, 1.0))  # ...then gone
            servers.append(client.build(
                'down-%d' % number, image=image['id'], block_devices=[BLANK],
                **SMALL))
            client.engine.listener_factories.clear()

        for server in servers:
            assert server['vm_state'] == 'error'
            message = server['fault']['message']
            assert message.startswith(
                'Undo incomplete (`spawnflow resume` or `spawnflow server '
                'delete` finishes it): not undone: create-volume-1, '), message
            assert 'create-volume-1 failed: Cinder: ' in (
                server['fault']['details'])

        _set_rate(proxies, 0.0)
        resumed = client.resume()
        assert sorted(resumed) == sorted(
            (s['uuid'], 'create', states.REVERTED) for s in servers)
        for server in servers:
            server = client.show(server['uuid'])
            assert server['vm_state'] == 'error'
            assert server['host'] is None
            assert server['fault']['message'].startswith(
                'create-volume-1 failed: Cinder: ')
        _assert_nothing_left(client, [s['uuid'] for s in servers])

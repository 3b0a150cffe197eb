"""No build is ever stranded: a revert that fails (Cinder unreachable
behind a fault proxy of the test's own) leaves the flow resumable and the
instance ERROR with a fault saying what it still holds; once Cinder is
back, ``resume`` or a retried ``server delete`` finishes the undo. A
Cinder unreachable from the start refuses the build before anything is
recorded."""

import subprocess
import sys
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

BLANK = conftest.BLANK_VOLUME
#: Retried at once, once: failures are the test's own, not passing ones.
RETRIES = ('[DEFAULT]\nservice_retry_interval = 0\n'
           '[cinder]\nhttp_retries = 1\n[glance]\nnum_retries = 1\n')


@pytest.fixture
def cinder_proxy(cinder):
    with faultproxy.FaultProxy(cinder.endpoint, seed=1,
                               faults=('reset',)) as proxy:
        yield proxy


@pytest.fixture
def config(tmp_path, glance, cinder, cinder_proxy):
    return openstack.config(tmp_path, glance, cinder, extra=RETRIES,
                            project_id=uuidlib.uuid4().hex,
                            cinder_endpoint=cinder_proxy.endpoint)


@pytest.fixture
def image(glance_client, tmp_path):
    return openstack.upload_qcow2(glance_client, tmp_path)


def _client(config):
    return api.Client(conf=spawnflow_conf.load([config]))


def _strand(client, cinder_proxy, image):
    """A build whose Cinder goes away once it is admitted: create-volume
    fails and so does its revert."""
    def cut():
        cinder_proxy.rate = 1.0
    transitions.at(client, 'mark-building', 'SUCCESS', cut)
    return client.build('stranded', flavor='m1.tiny', image=image['id'],
                        block_devices=[BLANK])


def _flow_states(client, uuid):
    return [d.state for d in client.engine.backend.get_connection()
            .get_logbook(uuid)]


def test_failed_revert_leaves_the_flow_resumable(config, cinder_proxy,
                                                 image):
    with _client(config) as client:
        client.db_sync()
        server = _strand(client, cinder_proxy, image)

        assert server['vm_state'] == 'error'
        assert server['task_state'] is None
        assert server['host'] == client.services.host  # still claimed
        # The fault's message (cut at its column's 255 characters, kept
        # whole at the head of its details) says what is left and why.
        fault = server['fault']
        assert fault['details'].startswith(
            'Undo incomplete (`spawnflow resume` or `spawnflow server '
            'delete` finishes it): not undone: create-volume-1, '
            'task-state-block-device-mapping, claim-resources, '
            'mark-building; held: a claim on host %s; the revert of '
            'create-volume-1 failed: Cinder: cannot find a volume by its '
            'metadata: Connection reset by peer (http://127.0.0.1:%d/v3/'
            % (client.services.host, cinder_proxy.port)), fault['details']
        assert fault['details'].startswith(fault['message'][:-3])
        assert 'create-volume-1 failed: Cinder: ' in fault['details']
        assert _flow_states(client, server['uuid']) == [states.FAILURE]

        # Still failing: resume tries again and leaves it as it was.
        assert client.resume() == [(server['uuid'], 'create',
                                    states.FAILURE)]
        assert _flow_states(client, server['uuid']) == [states.FAILURE]

        cinder_proxy.rate = 0.0
        assert client.resume() == [(server['uuid'], 'create',
                                    states.REVERTED)]
        server = client.show(server['uuid'])
        assert server['vm_state'] == 'error'
        assert server['host'] is None  # claim released
        assert server['fault']['message'].startswith(
            'create-volume-1 failed: Cinder: ')
        assert _flow_states(client, server['uuid']) == [states.REVERTED]
        checks.assert_instance_gone(client, server['uuid'])
        assert client.orphans() == []
        assert client.resume() == []


def test_retried_delete_finishes_the_undo_first(config, cinder_proxy, image):
    with _client(config) as client:
        client.db_sync()
        server = _strand(client, cinder_proxy, image)
        assert server['fault']['message'].startswith('Undo incomplete')

        with pytest.raises(Exception) as info:
            client.delete(server['uuid'])
        assert str(info.value).startswith(
            'Instance %s cannot be deleted yet: Undo incomplete (' % server[
                'uuid'])
        assert client.show(server['uuid'])['vm_state'] == 'error'

        cinder_proxy.rate = 0.0
        client.delete(server['uuid'])
        assert client.list() == []
        assert _flow_states(client, server['uuid']) == [
            states.REVERTED, states.SUCCESS]
        assert client.orphans() == []
        osf.wait_for(lambda: checks.volumes_of(client, server['uuid']) == [],
                     timeout=60, what='the volumes of %s deleted'
                     % server['uuid'])


def test_unreachable_cinder_refuses_the_build_up_front(tmp_path, glance,
                                                       cinder, image):
    """Cinder (or its Keystone) unreachable from the start: one line, exit
    1, nothing recorded."""
    closed = osf.free_port()
    config = openstack.config(
        tmp_path, glance, cinder, extra=RETRIES + f"""
[cinder]
auth_type = password
auth_url = http://127.0.0.1:{closed}/v3
username = spawnflow
password = cinder-password-3f1a
project_name = service
user_domain_name = Default
project_domain_name = Default
""")
    with _client(config) as client:
        client.db_sync()
    result = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file', config,
         'server', 'create', '--flavor', 'm1.tiny', '--image', image['id'],
         '--block-device', BLANK, 'unreachable'],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stdout == ''
    assert result.stderr.splitlines() == [
        'Cinder: cannot read the volume limits: Connection refused '
        '(http://127.0.0.1:%d/v3/auth/tokens)' % closed], result.stderr
    assert 'cinder-password-3f1a' not in result.stderr
    with _client(config) as client:
        assert client.db.instance_list(read_deleted=True) == []

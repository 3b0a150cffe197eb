"""Fixtures shared by the tests: a spawnflow configuration per test on a
fresh SQLite file (or PostgreSQL), an API client, a small real image."""

import contextlib
import os
import subprocess

import pytest

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from spawnflow.tasks import claims
from tests.fixtures import libvirt_qemu
from tests.fixtures import openstack as osf
from tests.fixtures.mariadb import mariadb_server  # noqa: F401
from tests.fixtures.mariadb import mariadb_url  # noqa: F401
from tests.fixtures.postgresql import postgresql_server  # noqa: F401
from tests.fixtures.postgresql import postgresql_url  # noqa: F401
from tests.fixtures.redis import jobboard_namespace  # noqa: F401
from tests.fixtures.redis import redis_server  # noqa: F401

#: A 1 GiB blank volume the instance deletes with itself (server create's
#: --block-device).
BLANK_VOLUME = ('source=blank,destination=volume,size=1,'
                'delete-on-termination=true')


def write_config(path, state_path, connection=None, extra=''):
    lines = ['[DEFAULT]', 'state_path = %s' % state_path,
             'block_device_allocate_retries = 5',
             'block_device_allocate_retries_interval = 1']
    if connection:
        lines += ['[database]', 'connection = %s' % connection]
    path.write_text('\n'.join(lines) + '\n' + extra)
    return str(path)


@pytest.fixture
def config_file(tmp_path):
    return write_config(tmp_path / 'spawnflow.conf', tmp_path / 'state')


@pytest.fixture
def client(config_file):
    with api.Client(conf=spawnflow_conf.load([config_file])) as client:
        client.db_sync()
        yield client


@contextlib.contextmanager
def fresh_database(request, kind, tmp_path, purpose):
    """The URL of an empty database of ``kind`` (sqlite, postgresql or
    mariadb) for one test, dropped afterwards."""
    if kind == 'sqlite':
        yield 'sqlite:///%s' % (tmp_path / ('%s.sqlite' % purpose))
        return
    server = request.getfixturevalue('%s_server' % kind)
    with server.database(purpose) as url:
        yield url


def make_qcow2(path, size='64M'):
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(path),
                    size], check=True)
    return str(path)


def fill_host(client, image_id):
    """Build an instance that takes every vcpu the host has left, so that
    the next build's claim fails (a flavor larger than the whole host is
    refused before anything is recorded)."""
    used = sum(i['vcpus'] for i in client.list()
               if i['host'] == client.services.host)
    vcpus = claims.host_capacity(client.services)['vcpus'] - used
    occupant = client.build('occupant', vcpus=vcpus, ram=64, disk=1,
                            image=image_id)
    assert occupant['vm_state'] == 'active', occupant['fault']
    return occupant


@pytest.fixture
def image(client, tmp_path):
    """A real (empty) qcow2 image in the local image store."""
    return client.image_create('test-image', make_qcow2(tmp_path / 'i.qcow2'),
                               'qcow2')


@pytest.fixture(autouse=True)
def _forget_test_driver_domains():
    """libvirt's test:///default keeps its domains for the whole process;
    undefine the ones a test left, so the next test starts clean."""
    yield
    import libvirt
    conn = libvirt.open('test:///default')
    for domain in conn.listAllDomains():
        if domain.name().startswith('instance-'):
            if domain.isActive():
                domain.destroy()
            domain.undefine()
    conn.close()


def pytest_report_header(config):
    return 'qemu-img: %s' % (os.popen('qemu-img --version').readline()
                             .strip() or 'missing')


# Real guests: qemu:///system and the tiny test guest image.

@pytest.fixture(scope='session')
def qemu_uri():
    try:
        with libvirt_qemu.system_libvirt() as uri:
            yield uri
    except libvirt_qemu.Unavailable as error:
        pytest.skip('qemu:///system unavailable: %s' % error)


@pytest.fixture(scope='session')
def tiny_guest():
    """The path of the tiny test guest image (tools/tiny-guest)."""
    path = libvirt_qemu.tiny_guest_image()
    if path is None:
        pytest.skip('the tiny guest image is missing: `make tiny-guest` '
                    'builds it (tools/tiny-guest/build.sh)')
    return path


# Real OpenStack services, started once per test run when first needed.

def _serve(service):
    """Run a fixture service; skip with the reason if it cannot be had."""
    try:
        with service:
            yield service
    except osf.ServiceUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope='session')
def glance(tmp_path_factory):
    yield from _serve(osf.Glance(osf.DEFAULT_VENV_ROOT / 'glance',
                                 tmp_path_factory.mktemp('glance')))


@pytest.fixture(scope='session')
def rabbitmq(tmp_path_factory):
    yield from _serve(osf.RabbitMQ(tmp_path_factory.mktemp('rabbitmq')))


@pytest.fixture(scope='session')
def cinder(rabbitmq, glance, postgresql_server,  # noqa: F811
           tmp_path_factory):
    """Cinder on PostgreSQL (its SQLite locks under parallel attaches)."""
    with postgresql_server.database('cinder') as database_url:
        yield from _serve(osf.Cinder(osf.DEFAULT_VENV_ROOT / 'cinder',
                                     tmp_path_factory.mktemp('cinder'),
                                     rabbitmq.transport_url,
                                     glance_endpoint=glance.endpoint,
                                     database_url=database_url))


@pytest.fixture(scope='session')
def glance_client(glance):
    """python-glanceclient on the test Glance (no auth: any token)."""
    import glanceclient
    return glanceclient.Client('2', endpoint=glance.endpoint, token='x')


@pytest.fixture(scope='session')
def cinder_client(cinder):
    """python-cinderclient on the test Cinder, sending the service token."""
    return cinder.client(service_roles=True)

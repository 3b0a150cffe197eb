"""Crash tests: builds killed in a subprocess, resumed in this one, on real
QEMU guests (qemu:///system), whose domains outlive a killed process as in
production. libvirt's test driver forgets its domains with the process."""

from concurrent import futures
import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import uuid as uuidlib

import pytest

pytest.register_assert_rewrite('tests.crash.checks')

from spawnflow import api  # noqa: E402
from spawnflow import conf as spawnflow_conf  # noqa: E402
from tests import conftest  # noqa: E402
from tests.fixtures import libvirt_qemu  # noqa: E402
from tests.functional import openstack  # noqa: E402

BLANK = conftest.BLANK_VOLUME


class Setup:
    """A configuration on qemu:///system with a local image."""

    def __init__(self, workdir, config, image, booting=False):
        self.workdir = workdir
        self.config = config
        self.image = image
        self.booting = booting

    def client(self):
        return api.Client(conf=spawnflow_conf.load([self.config]))

    def start(self, args, env):
        """``spawnflow <args>`` in a subprocess (not waited for)."""
        return subprocess.Popen(
            [sys.executable, '-m', 'spawnflow.cli.main', '--config-file',
             self.config, *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)

    def start_build(self, args, env):
        """``spawnflow server create`` in a subprocess (not waited for)."""
        return self.start(
            ['server', 'create', '--flavor', 'm1.tiny', 'crashy',
             *(a.format(image=self.image['id']) for a in args)], env)


#: How the booting setups wait for the tiny guest's boot marker.
BOOT_WAIT = 'wait_for_boot_timeout = 120\n'


@contextlib.contextmanager
def local_setup(qemu_uri, guest_image=None):
    """A fresh state directory and database, with a local image, on
    qemu:///system; its domains are undefined at the end. With
    ``guest_image`` (the tiny guest), builds wait for the guest to boot;
    otherwise the image is an empty disk."""
    workdir = pathlib.Path(libvirt_qemu.shared_tmpdir())
    config = conftest.write_config(
        workdir / 'spawnflow.conf', workdir / 'state',
        extra='[libvirt]\nconnection_uri = %s\nvirt_type = qemu\n%s'
        % (qemu_uri, BOOT_WAIT if guest_image else ''))
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        client.db_sync()
        image = client.image_create(
            'crash', guest_image or conftest.make_qcow2(workdir / 'i.qcow2'),
            'qcow2')
    try:
        yield Setup(workdir, config, image, booting=bool(guest_image))
    finally:
        _tear_down(workdir, config)


@pytest.fixture
def setup(qemu_uri):
    with local_setup(qemu_uri) as value:
        yield value


@pytest.fixture
def booting_setup(qemu_uri, tiny_guest):
    """A local setup whose builds boot the tiny guest and wait for it."""
    with local_setup(qemu_uri, tiny_guest) as value:
        yield value


@pytest.fixture
def cinder_setup(qemu_uri, glance, glance_client, cinder):
    """Glance and Cinder (a project of its own, so other tests' volumes are
    not this one's orphans) on qemu:///system."""
    workdir = pathlib.Path(libvirt_qemu.shared_tmpdir())
    config = openstack.config(
        workdir, glance, cinder, project_id=uuidlib.uuid4().hex,
        extra='[libvirt]\nconnection_uri = %s\nvirt_type = qemu\n'
        % qemu_uri)
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        client.db_sync()
    image = openstack.upload_qcow2(glance_client, workdir)
    yield Setup(workdir, config, image)
    _tear_down(workdir, config)


def _tear_down(workdir, config):
    """Undefine the setup's domains (several at once: libvirt takes about
    2 s to destroy a running QEMU, and the chaos test leaves 60) and
    remove its directory."""
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        uuids = [i['uuid'] for i in client.db.instance_list(read_deleted=True)]
        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(client.services.virt.undefine, uuids))
    shutil.rmtree(workdir)


def environment(**values):
    return dict(os.environ, **values)

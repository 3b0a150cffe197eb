"""A spawnflow client on the real Glance and Cinder of the test run."""

import subprocess

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from tests import conftest

#: Secrets the no-credential test searches for: the Glance token and the
#: service token Cinder checks (see tests/fixtures/openstack.py).
GLANCE_TOKEN = 'glance-secret-token-5f0c9d'


def config(tmp_path, glance, cinder, extra='', project_id=None,
           cinder_endpoint=None, glance_endpoint=None):
    """spawnflow on the test Glance and Cinder (in ``project_id``'s volumes,
    by default the fixture's project), or on proxies in front of them."""
    cinder_endpoint = cinder_endpoint or cinder.endpoint
    glance_endpoint = glance_endpoint or glance.endpoint
    return conftest.write_config(
        tmp_path / 'spawnflow.conf', tmp_path / 'state', extra=f"""
[DEFAULT]
volume_driver = cinder
image_driver = glance
[cinder]
auth_type = noauth
user_id = admin
project_id = {project_id or cinder.project_id}
endpoint = {cinder_endpoint}
[glance]
auth_type = admin_token
endpoint = {glance_endpoint}
token = {GLANCE_TOKEN}
[service_user]
send_service_user_token = true
auth_type = admin_token
endpoint = {cinder_endpoint}
token = {cinder.service_token}
{extra}""")


def client(tmp_path, glance, cinder, extra=''):
    client = api.Client(conf=spawnflow_conf.load(
        [config(tmp_path, glance, cinder, extra)]))
    client.db_sync()
    return client


def upload_qcow2(glance_client, tmp_path, name='spawnflow-test',
                 disk_format='qcow2'):
    """A real qcow2 image in Glance, declared as ``disk_format``."""
    path = tmp_path / (name + '.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', str(path),
                    '64M'], check=True)
    image = glance_client.images.create(name=name, disk_format=disk_format,
                                        container_format='bare')
    with open(path, 'rb') as data:
        glance_client.images.upload(image['id'], data)
    return glance_client.images.get(image['id'])

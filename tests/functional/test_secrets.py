"""No credential reaches the logs, task results or any table.

A build with Glance and Cinder (token, service token) on PostgreSQL (a
password in the URL, which trust authentication ignores), one that fails
with a traceback, and a delete; then every log record at DEBUG, every row
of every table (TaskFlow's logbooks, flow and atom details included) and
the state directory are searched for each secret.
"""

import logging
import os

import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from tests.functional import openstack

DB_PASSWORD = 'db-password-9e41c7'


@pytest.fixture
def secrets(cinder):
    return [openstack.GLANCE_TOKEN, cinder.service_token, DB_PASSWORD]


def test_no_credential_in_logs_results_or_tables(
        tmp_path, glance, glance_client, cinder, postgresql_url, secrets,
        caplog):
    url = postgresql_url.replace('postgres@', 'postgres:%s@' % DB_PASSWORD)
    config = openstack.config(tmp_path, glance, cinder,
                              extra='[database]\nconnection = %s\n' % url)
    image = openstack.upload_qcow2(glance_client, tmp_path)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger='keystoneauth')
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        client.db_sync()
        good = client.build('good', flavor='m1.tiny', image=image['id'],
                            block_devices=[
                                'source=blank,destination=volume,size=1,'
                                'delete-on-termination=true'])
        assert good['vm_state'] == 'active', good['fault']
        bad = client.build('bad', vcpus=1000, ram=64, disk=1,
                           image=image['id'])
        assert bad['vm_state'] == 'error'
        client.delete(good['uuid'])
        rows = _all_rows(client.db.engine)

    assert any('atomdetails' == table for table, _ in rows)
    assert len(caplog.records) > 50  # keystoneauth, taskflow, spawnflow
    # The tokens were sent (and keystoneauth logged them hashed).
    assert '"X-Auth-Token: {SHA256}' in caplog.text
    assert '"X-Service-Token: {SHA256}' in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
        for table, row in rows:
            assert secret not in row, 'secret in table %s' % table
        for directory, _dirs, files in os.walk(tmp_path / 'state'):
            for name in files:
                with open(os.path.join(directory, name), 'rb') as stream:
                    assert secret.encode() not in stream.read(), name


def _all_rows(engine):
    metadata = sa.MetaData()
    metadata.reflect(engine)
    rows = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows += [(table.name, repr(tuple(row)))
                     for row in conn.execute(table.select())]
    return rows

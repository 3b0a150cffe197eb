"""No credential reaches the logs, task results or any table.

Builds with Glance and Cinder (token, service token) on PostgreSQL (a
password in the URL, which trust authentication ignores), against a Cinder
whose attachments' connection info carries the secrets real backends send
(a CHAP password, a Ceph keyring, a secret, an object store's access key):
one build that succeeds, one that fails with a traceback, a delete; in
process with every logger at DEBUG, and through the command line at -vv
with --log-file. Then every log record, the command's output and log file,
every row of every table (TaskFlow's logbooks, flow and atom details
included) and the state directory are searched for each secret.
"""

import logging
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from spawnflow import api
from spawnflow import conf as spawnflow_conf
from tests import conftest
from tests.functional import openstack

DB_PASSWORD = 'db-password-9e41c7'
#: What the test Cinder puts in every attachment's connection info.
CONNECTION_SECRETS = {'auth_password': 'chap-password-51d0e2',
                      'keyring': 'AQBkeyring-8c1f3a==',
                      'secret': 'rbd-secret-2b7e90',
                      'access_key': 'access-key-d4c6a1'}
VOLUME = conftest.BLANK_VOLUME


@pytest.fixture
def secrets(cinder):
    return [openstack.GLANCE_TOKEN, cinder.service_token, DB_PASSWORD,
            *CONNECTION_SECRETS.values()]


@pytest.fixture
def secret_connections(cinder):
    cinder.set_connection_secrets(CONNECTION_SECRETS)
    yield
    cinder.set_connection_secrets({})


def test_no_credential_in_logs_results_or_tables(
        tmp_path, glance, glance_client, cinder, postgresql_url, secrets,
        secret_connections, caplog):
    url = postgresql_url.replace('postgres@', 'postgres:%s@' % DB_PASSWORD)
    config = openstack.config(tmp_path, glance, cinder,
                              extra='[database]\nconnection = %s\n' % url)
    image = openstack.upload_qcow2(glance_client, tmp_path)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger='keystoneauth')
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        client.db_sync()
        good = client.build('good', flavor='m1.tiny', image=image['id'],
                            block_devices=[VOLUME])
        assert good['vm_state'] == 'active', good['fault']
        occupant = conftest.fill_host(client, image['id'])
        bad = client.build('bad', flavor='m1.tiny', image=image['id'],
                           block_devices=[VOLUME])
        assert bad['vm_state'] == 'error'
        assert bad['fault']['details']  # the traceback was stored
        client.delete(good['uuid'])
        client.delete(occupant['uuid'])
    cli = _cli_build(config, image, tmp_path / 'cli.log')
    with api.Client(conf=spawnflow_conf.load([config])) as client:
        rows = _all_rows(client.db.engine)

    assert any('atomdetails' == table for table, _ in rows)
    assert len(caplog.records) > 50  # keystoneauth, taskflow, spawnflow
    logs = [caplog.text, cli.stdout, cli.stderr,
            (tmp_path / 'cli.log').read_text()]
    for log in logs[:1] + logs[2:]:
        # The tokens were sent (and keystoneauth logged them hashed), and
        # so were the attachments' answers, with their connection info.
        assert '"X-Auth-Token: {SHA256}' in log
        assert '"X-Service-Token: {SHA256}' in log
        assert '"connection_info":' in log
    assert '"auth_password": "***' in caplog.text
    for secret in secrets:
        for log in logs:
            assert secret not in log
        for table, row in rows:
            assert secret not in row, 'secret in table %s' % table
        for directory, _dirs, files in os.walk(tmp_path / 'state'):
            for name in files:
                with open(os.path.join(directory, name), 'rb') as stream:
                    assert secret.encode() not in stream.read(), name


def _cli_build(config, image, log_file):
    """``server create -vv --log-file`` and ``server delete``, as a user
    debugging a build would run them."""
    created = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file', config,
         '-vv', '--log-file', str(log_file), 'server', 'create', '--flavor',
         'm1.tiny', '--image', image['id'], '--block-device', VOLUME,
         'cli', '-f', 'value', '-c', 'id'],
        capture_output=True, text=True, timeout=300)
    assert created.returncode == 0, created.stderr[-3000:]
    deleted = subprocess.run(
        [sys.executable, '-m', 'spawnflow.cli.main', '--config-file', config,
         'server', 'delete', created.stdout.strip()],
        capture_output=True, text=True, timeout=300)
    assert deleted.returncode == 0, deleted.stderr
    return created


def _all_rows(engine):
    metadata = sa.MetaData()
    metadata.reflect(engine)
    rows = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows += [(table.name, repr(tuple(row)))
                     for row in conn.execute(table.select())]
    return rows

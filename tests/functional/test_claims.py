"""Resource claims on every database: what a host's live instances hold
is summed in one query, whatever their number; a boot-from-volume
instance holds no local disk, a deleted one nothing."""

import uuid as uuidlib

import pytest
import sqlalchemy as sa

from spawnflow import exception
from spawnflow import objects
from spawnflow.persistence import api as db_api
from spawnflow.persistence import migration
from tests import conftest

HOST = 'claims-host'
CAPACITY = {'vcpus': 8, 'memory_mb': 4096, 'local_gb': 20}


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def db(request, tmp_path):
    with conftest.fresh_database(request, request.param, tmp_path,
                                 'claims') as url:
        database = db_api.Database(db_api.create_engine(url))
        migration.sync(database.engine, _NoTaskFlow())
        yield database
        database.engine.dispose()


class _NoTaskFlow:
    """db sync's TaskFlow half, not needed for claims."""

    def get_connection(self):
        return self

    def upgrade(self):
        pass

    def close(self):
        pass


def _instance(db, vcpus, ram, disk, boot_from_volume=False):
    uuid = str(uuidlib.uuid4())
    if boot_from_volume:
        request = objects.BuildRequest(
            'vm', objects.Flavor('custom', vcpus, ram, disk),
            block_device_mappings=[objects.BlockDeviceMapping.parse(
                'source=blank,destination=volume,size=1,boot-index=0')])
    else:
        request = objects.BuildRequest(
            'vm', objects.Flavor('custom', vcpus, ram, disk),
            image_ref=str(uuidlib.uuid4()))
    db.instance_create(uuid, request, vm_state='building',
                       task_state='scheduling')
    return uuid


def _statements(db, call):
    """The SQL statements ``call()`` runs."""
    seen = []

    def count(*args):
        seen.append(args[2])
    sa.event.listen(db.engine, 'before_cursor_execute', count)
    try:
        call()
    finally:
        sa.event.remove(db.engine, 'before_cursor_execute', count)
    return seen


def test_claims_sum_what_live_instances_hold(db):
    for _ in range(3):
        db.instance_claim(_instance(db, 2, 1024, 5), HOST, CAPACITY)
    by_volume = _instance(db, 1, 512, 10, boot_from_volume=True)
    db.instance_claim(by_volume, HOST, CAPACITY)  # 10 GB not local
    gone = _instance(db, 1, 256, 5)
    db.instance_claim(gone, HOST, CAPACITY)
    db.instance_soft_delete(gone)  # frees what it held

    # Held: 7 vcpus, 3584 MiB, 15 GB local.
    with pytest.raises(exception.ClaimFailed, match='cannot fit 6 local_gb: '
                       '5 of 20 are free'):
        db.instance_claim(_instance(db, 1, 64, 6), HOST, CAPACITY)
    with pytest.raises(exception.ClaimFailed, match='cannot fit 2 vcpus: 1 '
                       'of 8 are free'):
        db.instance_claim(_instance(db, 2, 64, 1), HOST, CAPACITY)
    last = _instance(db, 1, 512, 5)
    db.instance_claim(last, HOST, CAPACITY)
    assert db.instance_get(last)['host'] == HOST


def test_a_claims_statements_do_not_grow_with_the_host_load(db):
    def claim_statements():
        uuid = _instance(db, 1, 1, 1)
        return len(_statements(db, lambda: db.instance_claim(
            uuid, HOST, dict(CAPACITY, vcpus=1000, memory_mb=10 ** 6,
                             local_gb=1000))))
    claim_statements()  # the first also records the host's row
    second = claim_statements()
    for _ in range(20):
        claim_statements()
    assert claim_statements() == second

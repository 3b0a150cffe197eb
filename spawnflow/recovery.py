"""Crash recovery, beside the engine: finish what a crash, an interruption
or a failed revert left, and never what a live owner runs.

Without a job board, a flow's owner is the process holding its instance's
owner lock, which only processes of the same host can see: ``resume``
takes the unfinished flows recorded by this host whose lock is free, and
leaves the rest (running here, or another host's) alone. With a job
board, conductors take over abandoned work through the board's expiring
claims, and ``resume`` posts again what has no job (spawnflow.conductor).
"""

import logging

from spawnflow import exception
from spawnflow import instance_states

LOG = logging.getLogger(__name__)

#: What resume reports for a flow a live process runs (left alone).
IN_PROGRESS = 'IN PROGRESS'
#: ... for a flow another host recorded (only it can tell its owner).
OTHER_HOST = 'OTHER HOST'
#: ... for a build that crashed before its flow was saved.
NOT_STARTED = 'NOT STARTED'


def resume_all(engine):
    """Finish every unfinished flow of this host that no live process
    runs; return [(instance uuid, action, final state, or IN_PROGRESS,
    or OTHER_HOST)]. Reads only the unfinished flows."""
    services = engine.services
    finished = []
    for detail in engine.unfinished():
        if engine.suspending:
            break
        uuid = detail.meta['instance_uuid']
        host = (services.db.flow_owner_get(detail.uuid) or {}).get('host')
        if host not in (None, services.host):
            finished.append((uuid, detail.meta['action'], OTHER_HOST))
            continue
        try:
            with engine.owners.hold(uuid):
                # Read again under the lock: its owner may have finished
                # it meanwhile.
                current = [d for d in engine.unfinished(uuid)
                           if d.uuid == detail.uuid]
                state = engine.resume(current[0]) if current else None
        except exception.InstanceBusy:
            state = IN_PROGRESS
        if state is not None:
            finished.append((uuid, detail.meta['action'], state))
    return finished


def fail_builds_without_flow(engine, hold):
    """A build killed before its flow was saved created nothing: ERROR it
    with a fault, as Nova does with every interrupted build. ``hold``
    (instance uuid) holds the right to touch it, raising InstanceBusy
    while its admission is still under way."""
    db = engine.services.db
    conn = engine.backend.get_connection()
    failed = []
    for instance in db.instance_list(vm_state=instance_states.BUILDING):
        uuid = instance['uuid']
        if any(meta.get('action') == 'create'
               for meta in conn.flow_detail_metas(uuid)):
            continue
        try:
            with hold(uuid):
                if conn.flow_detail_metas(uuid) or db.instance_get(
                        uuid)['vm_state'] != instance_states.BUILDING:
                    continue  # its builder got further meanwhile
                db.instance_update(uuid, {
                    'vm_state': instance_states.ERROR, 'task_state': None})
                db.fault_create(
                    uuid, 500, 'Build interrupted before its flow was '
                    'saved; nothing was created.', None,
                    engine.services.host)
        except exception.InstanceBusy:
            continue  # being admitted by a live process
        LOG.info('Build of %s failed: its flow was never saved', uuid)
        failed.append((uuid, 'create', NOT_STARTED))
    return failed

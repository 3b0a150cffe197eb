"""Execution: what an engine does to carry out an action on an instance,
the same whether the process that admitted it runs it or a conductor does
(for a job). The caller holds the right to run the instance's flows (its
owner lock, or the job's claim); the engine claims each flow it runs.
"""

from taskflow import states

from spawnflow import engine as spawnflow_engine
from spawnflow import exception
from spawnflow import flows


def create(engine, flow_uuid, on_claim=None):
    """Run the build recorded at admission (from where it stands, if it
    was begun); returns its final state."""
    detail = engine.flow_detail(flow_uuid)
    if detail.state in spawnflow_engine.FINISHED:
        return detail.state  # a copy of its job ran it already
    return engine.resume(detail, on_claim)


def delete(engine, instance_uuid, on_claim=None, posting=None):
    """Finish the instance's unfinished flows (a build told to stop
    reverts; an interrupted delete goes on), then run its delete flow.
    Returns SUCCESS once the instance is deleted, SUSPENDED when the
    engine was suspended; raises with the fault when a flow of it cannot
    be finished yet (a revert that keeps failing)."""
    db = engine.services.db
    for detail in engine.unfinished(instance_uuid):
        state = engine.resume(detail, on_claim)
        if state == states.SUSPENDED:
            return state
    try:
        db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return states.SUCCESS  # the build, told to stop, deleted it
    if engine.unfinished(instance_uuid):
        fault = db.fault_get_latest(instance_uuid)
        raise exception.SpawnflowError(
            'Instance %s cannot be deleted yet: %s'
            % (instance_uuid, fault['message'] if fault else 'a flow of it '
               'is unfinished'))
    detail = engine.create(instance_uuid, 'delete', flows.FACTORIES['delete'],
                           flows.factory_arguments(db, instance_uuid),
                           posting=posting)
    state = engine.resume(detail, on_claim)
    if state not in (states.SUCCESS, states.SUSPENDED):
        fault = db.fault_get_latest(instance_uuid)
        raise exception.SpawnflowError(
            'Deleting instance %s failed: %s'
            % (instance_uuid, fault['message'] if fault else state))
    return state

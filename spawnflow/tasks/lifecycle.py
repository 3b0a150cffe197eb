"""Instance lifecycle: vm_state and task_state saves, faults.

Task states follow Nova: scheduling -> block_device_mapping -> spawning ->
None. Each save is a compare-and-swap on the expected task state, so a
delete that set ``deleting`` in the meantime makes the build fail (and
revert) instead of being overwritten.
"""


from oslo_utils import timeutils

from spawnflow import exception
from spawnflow import instance_states as states
from spawnflow import secrets
from spawnflow.tasks import base


def record_fault(services, instance_uuid, flow_failures):
    """The fault of the task that made the flow revert (masked of
    secrets: service errors may quote what the service answered)."""
    if not flow_failures:
        # (A revert resumed after its failures were lost with a crash.)
        services.db.fault_create(
            instance_uuid, code=500, message='Reverted after an '
            'interruption; the original failure is in the action events.',
            details=None, host=services.host)
        return
    atom_name, failure = next(iter(flow_failures.items()))
    exc = failure.exception
    services.db.fault_create(
        instance_uuid, code=getattr(exc, 'code', 500),
        message=secrets.mask_text('%s failed: %s'
                                  % (atom_name, failure.exception_str)),
        details=secrets.mask_text(''.join(failure.traceback_str or ''))
        or None, host=services.host)


class MarkBuilding(base.BaseTask):
    """Confirm the instance is still to be built.

    Revert: the instance becomes ERROR with a fault naming the task that
    failed and why; if a delete was requested meanwhile, it is deleted.
    """

    def execute(self, services, instance_uuid):
        services.db.instance_update(
            instance_uuid, {'vm_state': states.BUILDING},
            expected_task_state=states.SCHEDULING)

    def revert(self, services, instance_uuid, flow_failures, **kwargs):
        try:
            instance = services.db.instance_get(instance_uuid)
        except exception.InstanceNotFound:
            return
        if instance['task_state'] == states.DELETING:
            services.db.instance_soft_delete(instance_uuid)
            return
        services.db.instance_update(
            instance_uuid, {'vm_state': states.ERROR, 'task_state': None})
        record_fault(services, instance_uuid, flow_failures)


class UpdateTaskState(base.BaseTask):
    """Move to ``task_state`` from ``expected`` (compare and swap).

    Nothing to revert: MarkBuilding's revert resets the state.
    """

    def __init__(self, task_state, expected, **kwargs):
        super().__init__(name='task-state-%s' % task_state.replace('_', '-'),
                         **kwargs)
        self.task_state = task_state
        self.expected = expected

    def execute(self, services, instance_uuid):
        services.db.instance_update(
            instance_uuid, {'task_state': self.task_state},
            expected_task_state=(self.expected, self.task_state))


class MarkActive(base.BaseTask):
    """vm_state active, task_state None; the build is done."""

    def execute(self, services, instance_uuid):
        try:
            services.db.instance_update(
                instance_uuid, {'vm_state': states.ACTIVE,
                                'task_state': None,
                                'launched_at': timeutils.utcnow()},
                expected_task_state=states.SPAWNING)
        except exception.UnexpectedTaskStateError:
            instance = services.db.instance_get(instance_uuid)
            done = (states.ACTIVE, None)
            if (instance['vm_state'], instance['task_state']) != done:
                raise  # not our own earlier save: a concurrent change


class MarkDeleting(base.BaseTask):
    """task_state deleting, from no task or an earlier delete.

    Revert: the instance becomes ERROR with a fault naming the cause.
    """

    def execute(self, services, instance_uuid):
        services.db.instance_update(
            instance_uuid, {'task_state': states.DELETING},
            expected_task_state=(None, states.DELETING))

    def revert(self, services, instance_uuid, flow_failures, **kwargs):
        try:
            services.db.instance_update(
                instance_uuid, {'vm_state': states.ERROR,
                                'task_state': None})
        except exception.InstanceNotFound:
            return
        record_fault(services, instance_uuid, flow_failures)


class MarkDeleted(base.BaseTask):
    """Soft-delete the instance row (Nova keeps deleted rows)."""

    def execute(self, services, instance_uuid):
        services.db.instance_soft_delete(instance_uuid)

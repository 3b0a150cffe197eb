"""Reverting a saved flow that no longer matches the code.

A build saved by an older spawnflow may name tasks this version renamed or
removed; resuming it would skip their work or their reverts. Such a flow is
replaced by this one::

    <the action's flow as this code builds it> -> refuse-changed-flow

whose atoms all start as done, so refuse-changed-flow fails at once and
every task's revert runs, in reverse order. Reverts find what they undo by
the instance (domain uuid, volume tags, BDM rows, instance directory, cache
owner records), not by their saved results, so this undoes whatever the old
code did. The instance ends ERROR (create) with a fault saying why.
"""

from taskflow.patterns import linear_flow
from taskflow import task as tf_task

from spawnflow import exception
from spawnflow import flows
from spawnflow.tasks import base


def atom_names(flow):
    """The names of every task in ``flow`` and its subflows."""
    for item, _meta in flow.iter_nodes():
        if isinstance(item, tf_task.Task):
            yield item.name
        else:
            yield from atom_names(item)


class RefuseChangedFlow(base.BaseTask):
    """Fail with the difference between the saved flow and this code's."""

    NAME = 'refuse-changed-flow'

    def __init__(self, action, saved_only, code_only):
        super().__init__(name=self.NAME)
        self.error = exception.FlowChanged(action, saved_only, code_only)

    def execute(self):
        raise self.error


def get_revert_flow(action, instance_uuid, block_devices, saved_only,
                    code_only):
    """The action's current flow followed by refuse-changed-flow."""
    flow = flows.FACTORIES[action](instance_uuid, block_devices)
    return linear_flow.Flow('revert-changed-%s' % flow.name).add(
        flow, RefuseChangedFlow(action, saved_only, code_only))

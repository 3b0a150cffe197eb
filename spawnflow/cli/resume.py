"""``spawnflow resume``: finish what a crash interrupted."""

from taskflow import states

from spawnflow.cli import base
from spawnflow import exception
from spawnflow import instance_states


class Resume(base.Lister):
    """Resume every unfinished build or delete to its end.

    A flow goes forward where it was running and backward where it was
    reverting; those a live process runs are left (IN PROGRESS, with their
    owner). With a job board, those whose job is gone are posted again,
    for the conductors.
    """

    def take_action(self, parsed_args):
        client = self.app.client
        rows = []
        finished = client.resume()
        interrupted = [uuid for uuid, _action, state in finished
                       if state == states.SUSPENDED]
        if interrupted:
            raise exception.Interrupted(
                'Interrupted: %s left for `spawnflow resume`.'
                % ', '.join(interrupted))
        for uuid, action, state in finished:
            instance = client.show(uuid, read_deleted=True)
            owners = [o['owner'] for o in client.db.flow_owner_list(uuid)
                      if o['action'] == action and o['owner']]
            rows.append((uuid, action, state,
                         instance_states.status(instance['vm_state']),
                         owners[-1] if owners else ''))
        return ('Server', 'Action', 'Flow', 'Status', 'Owner'), rows

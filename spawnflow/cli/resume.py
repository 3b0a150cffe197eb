"""``spawnflow resume``: finish what a crash interrupted."""

from cliff import lister

from spawnflow.cli import format


class Resume(lister.Lister):
    """Resume every unfinished build or delete to its end (forward where it
    was running, backward where it was reverting)."""

    def take_action(self, parsed_args):
        client = self.app.client
        rows = []
        for uuid, action, state in client.resume():
            instance = client.show(uuid, read_deleted=True)
            rows.append((uuid, action, state,
                         format.STATUS.get(instance['vm_state'],
                                           instance['vm_state'])))
        return ('Server', 'Action', 'Flow', 'Status'), rows

"""``spawnflow orphans list|reap``."""

from cliff import lister

COLUMNS = ('Kind', 'ID', 'Instance', 'Detail')


def _rows(orphans):
    return [(o.kind, o.id, o.instance_uuid, o.detail) for o in orphans]


class ListOrphans(lister.Lister):
    """List resources tagged as spawnflow's that no instance accounts for
    (domains, volumes, attachments, instance files, partial downloads)."""

    def take_action(self, parsed_args):
        return COLUMNS, _rows(self.app.client.orphans())


class ReapOrphans(lister.Lister):
    """Remove the orphans ``orphans list`` shows, and list what went."""

    def take_action(self, parsed_args):
        return COLUMNS, _rows(self.app.client.reap_orphans())

"""``spawnflow orphans list|reap``."""

from spawnflow.cli import base

COLUMNS = ('Kind', 'ID', 'Instance', 'Detail')


def _rows(orphans):
    return [(o.kind, o.id, o.instance_uuid, o.detail) for o in orphans]


class ListOrphans(base.Lister):
    """List resources tagged as spawnflow's that no instance accounts for.

    They are domains, volumes, attachments, instance files and partial
    downloads of this deployment.
    """

    def take_action(self, parsed_args):
        return COLUMNS, _rows(self.app.client.orphans())


class ReapOrphans(base.Lister):
    """Remove the orphans that orphans list shows, and list what went.

    With --dry-run, list what would be removed and remove nothing.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--dry-run', action='store_true',
                            help='List what would be removed; remove '
                                 'nothing')
        return parser

    def take_action(self, parsed_args):
        return COLUMNS, _rows(self.app.client.reap_orphans(
            dry_run=parsed_args.dry_run))

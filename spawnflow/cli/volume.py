"""``spawnflow volume list`` and ``volume snapshot create``."""

from cliff import lister
from cliff import show


class ListVolume(lister.Lister):
    """List volumes of the configured volume driver."""

    def take_action(self, parsed_args):
        columns = ('ID', 'Name', 'Status', 'Size', 'Attached to')
        rows = [(v['id'], v['name'], v['status'], v['size'],
                 ', '.join(a['instance_uuid'] for a in v['attachments']))
                for v in self.app.client.services.volume.list()]
        return columns, rows


class CreateVolumeSnapshot(show.ShowOne):
    """Snapshot a volume (source of snapshot->volume block devices)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='Name of the new snapshot')
        parser.add_argument('--volume', required=True, help='Volume ID')
        return parser

    def take_action(self, parsed_args):
        snapshot = self.app.client.services.volume.snapshot_create(
            parsed_args.volume, parsed_args.name)
        columns = ('id', 'name', 'volume_id', 'size', 'status')
        return columns, tuple(snapshot[c] for c in columns)

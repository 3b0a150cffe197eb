"""``spawnflow volume create|list|show|delete`` and ``volume snapshot
create|list|show|delete``."""

from spawnflow.cli import base
from spawnflow.cli import deletion
from spawnflow.cli import lookup

_VOLUME_COLUMNS = ('id', 'name', 'status', 'size', 'image_id',
                   'snapshot_id', 'attachments', 'metadata', 'created_at')
_SNAPSHOT_COLUMNS = ('id', 'name', 'volume_id', 'size', 'status',
                     'created_at')


def _volume_fields(volume):
    attachments = ', '.join(a['instance_uuid'] for a in volume['attachments'])
    values = dict(volume, attachments=attachments)
    return _VOLUME_COLUMNS, tuple(values.get(c) for c in _VOLUME_COLUMNS)


def _snapshot_fields(snapshot):
    return _SNAPSHOT_COLUMNS, tuple(snapshot.get(c)
                                    for c in _SNAPSHOT_COLUMNS)


class CreateVolume(base.ShowOne):
    """Create a volume, blank or from an image or a snapshot.

    It is the user's: no server owns it, and orphans reap never takes it.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='Name of the new volume')
        parser.add_argument('--size', required=True,
                            help='Size of the volume in GiB')
        source = parser.add_mutually_exclusive_group()
        source.add_argument('--image',
                            help='Image to copy into it (name or ID)')
        source.add_argument('--snapshot',
                            help='Snapshot to copy into it (name or ID)')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        image = snapshot = None
        if parsed_args.image is not None:
            image = lookup.image(client, parsed_args.image)['id']
        if parsed_args.snapshot is not None:
            snapshot = lookup.snapshot(client, parsed_args.snapshot)['id']
        return _volume_fields(client.volume_create(
            parsed_args.name, parsed_args.size, image=image,
            snapshot=snapshot))


class ListVolume(base.Lister):
    """List volumes of the configured volume driver."""

    def take_action(self, parsed_args):
        columns = ('ID', 'Name', 'Status', 'Size', 'Attached to')
        rows = [(v['id'], v['name'], v['status'], v['size'],
                 ', '.join(a['instance_uuid'] for a in v['attachments']))
                for v in self.app.client.services.volume.list()]
        return columns, rows


class ShowVolume(base.ShowOne):
    """Show a volume."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('volume', help='Volume (name or ID)')
        return parser

    def take_action(self, parsed_args):
        return _volume_fields(lookup.volume(self.app.client,
                                            parsed_args.volume))


class DeleteVolume(deletion.DeleteCommand):
    """Delete volumes that no server uses.

    A volume a server kept (delete_on_termination false) can be deleted
    once that server is. Every volume that can be deleted is; the command
    fails if any could not be.
    """

    kind = 'volume'

    def delete_one(self, parsed_args, ref):
        client = self.app.client
        client.volume_delete(lookup.volume(client, ref)['id'])


class CreateVolumeSnapshot(base.ShowOne):
    """Snapshot a volume, as a source of snapshot->volume block devices."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='Name of the new snapshot')
        parser.add_argument('--volume', required=True,
                            help='Volume to snapshot (name or ID)')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        volume = lookup.volume(client, parsed_args.volume)
        return _snapshot_fields(client.services.volume.snapshot_create(
            volume['id'], parsed_args.name))


class ListVolumeSnapshot(base.Lister):
    """List volume snapshots."""

    def take_action(self, parsed_args):
        columns = ('ID', 'Name', 'Volume', 'Size', 'Status')
        return columns, [
            (s['id'], s['name'], s['volume_id'], s['size'], s['status'])
            for s in self.app.client.services.volume.snapshot_list()]


class ShowVolumeSnapshot(base.ShowOne):
    """Show a volume snapshot."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('snapshot', help='Snapshot (name or ID)')
        return parser

    def take_action(self, parsed_args):
        return _snapshot_fields(lookup.snapshot(self.app.client,
                                                parsed_args.snapshot))


class DeleteVolumeSnapshot(deletion.DeleteCommand):
    """Delete volume snapshots.

    Volumes made from a snapshot are copies and stay. Every snapshot that
    can be deleted is; the command fails if any could not be.
    """

    kind = 'snapshot'

    def delete_one(self, parsed_args, ref):
        client = self.app.client
        client.services.volume.snapshot_delete(
            lookup.snapshot(client, ref)['id'])

"""``spawnflow image create|list|show|delete``."""

from spawnflow.cli import base
from spawnflow.cli import deletion
from spawnflow.cli import lookup
from spawnflow import lazy

local = lazy.module('spawnflow.drivers.image.local')

_COLUMNS = ('id', 'name', 'status', 'disk_format', 'size', 'virtual_size',
            'hash_algo', 'hash_value', 'created_at')


def _fields(image):
    return _COLUMNS, tuple(image.get(column) for column in _COLUMNS)


class CreateImage(base.ShowOne):
    """Add an image file to the local image store."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='Name of the new image')
        parser.add_argument('--file', required=True, help='Image data file')
        parser.add_argument('--disk-format', required=True,
                            choices=local.DISK_FORMATS,
                            help='Format of the data; checked against it')
        return parser

    def take_action(self, parsed_args):
        return _fields(self.app.client.image_create(
            parsed_args.name, parsed_args.file, parsed_args.disk_format))


class ListImage(base.Lister):
    """List images."""

    def take_action(self, parsed_args):
        columns = ('ID', 'Name', 'Status', 'Disk Format', 'Size')
        return columns, [(i['id'], i['name'], i['status'], i['disk_format'],
                          i['size']) for i in self.app.client.image_list()]


class ShowImage(base.ShowOne):
    """Show an image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('image', help='Image (name or ID)')
        return parser

    def take_action(self, parsed_args):
        return _fields(lookup.image(self.app.client, parsed_args.image))


class DeleteImage(deletion.DeleteCommand):
    """Delete images from the image store.

    Servers built from an image keep running: their root disks use the
    image cache's copy. Every image that can be deleted is; the command
    fails if any could not be.
    """

    kind = 'image'

    def delete_one(self, parsed_args, ref):
        client = self.app.client
        client.image_delete(lookup.image(client, ref)['id'])

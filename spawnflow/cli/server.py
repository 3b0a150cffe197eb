"""``spawnflow server create|list|show|delete``."""

import contextlib

from cliff import command
from cliff import lister
from cliff import show

from spawnflow.cli import format
from spawnflow.cli import build_progress
from spawnflow import exception
from spawnflow import fileutils
from spawnflow import instance_states as states
from spawnflow import objects


def _add_wait_options(parser, what):
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--wait', dest='wait', action='store_true',
                       default=True,
                       help='Wait until the %s ends (default)' % what)
    group.add_argument('--no-wait', dest='wait', action='store_false',
                       help='Return once the %s is posted to the job board '
                            '(needs [jobboard] backend)' % what)


class CreateServer(show.ShowOne):
    """Build an instance and wait until it is ACTIVE (or ERROR).

    On a terminal, the image download is shown as a progress bar (when
    this process runs the build). With a job board, the build is posted
    for a conductor; ``--no-wait`` returns at once, the server in BUILD.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='Name of the new server')
        parser.add_argument('--flavor', help='Flavor name (e.g. m1.tiny)')
        parser.add_argument('--vcpus', help='Custom flavor: virtual CPUs')
        parser.add_argument('--ram', help='Custom flavor: memory in MiB')
        parser.add_argument('--disk', help='Custom flavor: root disk in GiB')
        parser.add_argument('--image', help='Image to boot from (root disk '
                                            'image->local)')
        parser.add_argument(
            '--block-device', action='append', default=[],
            dest='block_devices', metavar='KEY=VALUE,...',
            help='source=image|blank|snapshot|volume,'
                 'destination=local|volume,size=GiB,uuid=ID,'
                 'boot-index=N,delete-on-termination=true|false '
                 '(repeatable)')
        parser.add_argument(
            '--user-data', metavar='FILE',
            help='User data for the guest (cloud-init\'s user-data, at '
                 'most %d bytes), on its config drive'
                 % objects.MAX_USER_DATA_BYTES)
        parser.add_argument(
            '--network-config', metavar='FILE',
            help='cloud-init network config (version 1 or 2 YAML) for '
                 'the guest, on its config drive')
        _add_wait_options(parser, 'build')
        return parser

    def take_action(self, parsed_args):
        user_data = _read_small_file(parsed_args.user_data, 'user data')
        network_config = _read_small_file(parsed_args.network_config,
                                          'network config')
        client = self.app.client
        with contextlib.ExitStack() as stack:
            if self.app.stderr.isatty():
                display = stack.enter_context(
                    build_progress.BuildProgress(self.app.stderr))
                client.engine.listener_factories.append(display.listener)
            instance = client.build(
                parsed_args.name, flavor=parsed_args.flavor,
                image=parsed_args.image,
                block_devices=parsed_args.block_devices,
                vcpus=parsed_args.vcpus, ram=parsed_args.ram,
                disk=parsed_args.disk, wait=parsed_args.wait,
                user_data=user_data, network_config=network_config)
        if instance['vm_state'] == states.ERROR:
            raise exception.SpawnflowError(
                'Server %s is ERROR: %s' % (instance['uuid'],
                                            instance['fault']['message']))
        return format.server_fields(instance)


def _read_small_file(path, what):
    """The bytes of the regular file ``path`` (None for None), refused
    past MAX_USER_DATA_BYTES without reading further."""
    if path is None:
        return None
    limit = objects.MAX_USER_DATA_BYTES
    try:
        stream, _info = fileutils.open_regular_file(path)
    except fileutils.NotRegularFile:
        raise exception.InvalidRequest(
            'The %s file %s is not a regular file.' % (what, path))
    except OSError as error:
        raise exception.InvalidRequest('Cannot read the %s file %s: %s.'
                                       % (what, path, error.strerror))
    with stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise exception.InvalidRequest(
            'The %s file %s is larger than %d bytes.' % (what, path, limit))
    return data


class ListServer(lister.Lister):
    """List instances."""

    def take_action(self, parsed_args):
        columns = ('ID', 'Name', 'Status', 'Task State', 'Host', 'Flavor',
                   'Image')
        rows = [(i['uuid'], i['display_name'],
                 states.status(i['vm_state']),
                 i['task_state'], i['host'], i['flavor_name'],
                 i['image_ref'] or '')
                for i in self.app.client.list()]
        return columns, rows


class ShowServer(show.ShowOne):
    """Show an instance, its block devices and its latest fault."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', help='Server ID')
        return parser

    def take_action(self, parsed_args):
        return format.server_fields(self.app.client.show(parsed_args.server))


class DeleteServer(command.Command):
    """Delete instances: domain, attachments, disks, and the volumes whose
    delete_on_termination is set."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('servers', nargs='+', metavar='server',
                            help='Server ID (repeatable)')
        _add_wait_options(parser, 'delete')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        if not parsed_args.wait and client.board is None:
            raise exception.InvalidRequest(
                'Not waiting for a delete needs a job board ([jobboard] '
                'backend) and a `spawnflow conductor` to run it.')
        for uuid in parsed_args.servers:
            client.delete(uuid, wait=600 if parsed_args.wait else 0)

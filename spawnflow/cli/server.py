"""``spawnflow server create|list|show|delete`` and ``server event
list|show``."""

import contextlib

from spawnflow.cli import base
from spawnflow.cli import deletion
from spawnflow.cli import format
from spawnflow.cli import lookup
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


class CreateServer(base.ShowOne):
    """Build an instance and wait until it is ACTIVE (or ERROR).

    Images, volumes and snapshots are given by name or ID. On a terminal,
    the image download is shown as a progress bar (when this process runs
    the build). With a job board, the build is posted for a conductor;
    --no-wait returns at once, the server in BUILD.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', help='Name of the new server')
        parser.add_argument('--flavor', help='Flavor name (e.g. m1.tiny)')
        parser.add_argument('--vcpus', help='Custom flavor: virtual CPUs')
        parser.add_argument('--ram', help='Custom flavor: memory in MiB')
        parser.add_argument('--disk', help='Custom flavor: root disk in GiB')
        parser.add_argument('--image', help='Image to boot from, name or ID '
                                            '(root disk image->local)')
        parser.add_argument(
            '--block-device', action=objects.BlockDeviceAction, default=[],
            dest='block_devices', metavar='KEY=VALUE,...',
            help='A block device, with OpenStackClient\'s keys or the '
                 'short ones: source_type (source)=image|blank|snapshot|'
                 'volume, destination_type (destination)=local|volume, '
                 'volume_size (size)=GiB, uuid=name or ID of the image, '
                 'volume or snapshot, boot_index (boot-index)=N, '
                 'delete_on_termination (delete-on-termination)=true|false, '
                 'device_name (ignored: names follow the boot order) '
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
        image = lookup.image_ref(client, parsed_args.image)
        block_devices = lookup.block_device_refs(client,
                                                 parsed_args.block_devices)
        with contextlib.ExitStack() as stack:
            if self.app.stderr.isatty():
                # rich and TaskFlow's listeners: for builds only.
                from spawnflow.cli import build_progress
                display = stack.enter_context(
                    build_progress.BuildProgress(self.app.stderr))
                client.engine.listener_factories.append(display.listener)
            instance = client.build(
                parsed_args.name, flavor=parsed_args.flavor,
                image=image, block_devices=block_devices,
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


class ListServer(base.Lister):
    """List instances."""

    def take_action(self, parsed_args):
        columns = ('ID', 'Name', 'Status', 'Task State', 'Host', 'Flavor',
                   'Image')
        rows = [(i['uuid'], i['display_name'],
                 states.status(i['vm_state']),
                 i['task_state'], i['host'], i['flavor_name'],
                 i['image_ref'] or '')
                for i in self.app.db.instance_list()]
        return columns, rows


class ShowServer(base.ShowOne):
    """Show an instance, its block devices and its latest fault."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', help='Server (name or ID)')
        return parser

    def take_action(self, parsed_args):
        db = self.app.db
        return format.server_fields(db.instance_show(
            lookup.server_id(db, parsed_args.server)))


class DeleteServer(deletion.DeleteCommand):
    """Delete instances and the volumes set to delete on termination.

    The domain, the attachments and the disks go; volumes kept (with
    delete_on_termination false) stay, for volume delete. Every server
    that can be deleted is; the command fails if any could not be.
    """

    kind = 'server'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _add_wait_options(parser, 'delete')
        return parser

    def take_action(self, parsed_args):
        if not parsed_args.wait and self.app.client.board is None:
            raise exception.InvalidRequest(
                'Not waiting for a delete needs a job board ([jobboard] '
                'backend) and a `spawnflow conductor` to run it.')
        super().take_action(parsed_args)

    def delete_one(self, parsed_args, ref):
        client = self.app.client
        client.delete(lookup.server_id(client.db, ref),
                      wait=600 if parsed_args.wait else 0)


def _action(db, server, request_id):
    uuid = lookup.server_id(db, server)
    for action in db.action_list(uuid):
        if action['request_id'] == request_id:
            return action
    raise exception.NotFound('Server %s has no action with request ID %s.'
                             % (uuid, request_id))


class ListServerEvent(base.Lister):
    """List the actions of an instance (create, delete), oldest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', help='Server (name or ID)')
        return parser

    def take_action(self, parsed_args):
        db = self.app.db
        uuid = lookup.server_id(db, parsed_args.server)
        columns = ('Request ID', 'Server ID', 'Action', 'Start Time')
        return columns, [(a['request_id'], a['instance_uuid'], a['action'],
                          format.timestamp(a['start_time']))
                         for a in db.action_list(uuid)]


class ShowServerEvent(base.ShowOne):
    """Show an action of an instance with its events, one per task run.

    Each event has its result (Success, Error or Reverted) and the owner
    (process or conductor) that ran it.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', help='Server (name or ID)')
        parser.add_argument('request_id', metavar='request-id',
                            help='Request ID of the action (see server '
                                 'event list)')
        return parser

    def take_action(self, parsed_args):
        action = _action(self.app.db, parsed_args.server,
                         parsed_args.request_id)
        fields = {
            'request_id': action['request_id'],
            'instance_uuid': action['instance_uuid'],
            'action': action['action'],
            'start_time': format.timestamp(action['start_time']),
            'finish_time': format.timestamp(action['finish_time']),
            'message': action['message'],
            'events': format.EventsColumn(action['events']),
        }
        return tuple(fields), tuple(fields.values())

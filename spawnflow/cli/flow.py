"""``spawnflow flow show|graph``: what a build is made of and where it
stands (spawnflow.inspection), as a table or a Graphviz diagram."""

import os

from cliff import columns

from spawnflow.cli import base
from spawnflow.cli import lookup
from spawnflow import exception
from spawnflow import fileutils
from spawnflow import lazy
from spawnflow import objects

admission = lazy.module('spawnflow.admission')
diagram = lazy.module('spawnflow.diagram')
graphviz = lazy.module('graphviz')
inspection = lazy.module('spawnflow.inspection')

COLUMNS = ('Task', 'State', 'Intention', 'Started', 'Duration', 'Runs',
           'Owner', 'Result', 'Cause', 'Revert Order', 'Revert Runs',
           'Revert Duration', 'Revert Result')


class DurationColumn(columns.FormattableColumn):
    """``0.19 s`` in tables; seconds (a float, or null) in json."""

    def human_readable(self):
        return inspection.duration_text(self._value)

    def machine_readable(self):
        return self._value


def atom_row(atom):
    return (atom.name, atom.state, atom.intention,
            inspection.time_text(atom.started_at),
            DurationColumn(atom.duration), atom.runs, atom.owner or '',
            atom.result, atom.cause or '',
            '' if atom.revert_order is None else atom.revert_order,
            atom.revert_runs, DurationColumn(atom.revert_duration),
            atom.revert_result or '')


class ShowFlow(base.Lister):
    """Show every task of a server's build or delete flow.

    For each task: its state, when it ran, how long, how often, what it
    returned or why it failed, and, for a reverted flow, the order of the
    reverts and their results. Works while the flow runs, after it ended,
    and after a crash (the task it stopped in stays RUNNING; a resume that
    runs it again makes Runs 2).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', help='Server (name or ID)')
        parser.add_argument('--action', choices=inspection.ACTION_CHOICES,
                            default='create',
                            help='Which flow: the build (create, default), '
                                 'the delete, or all of them')
        return parser

    def take_action(self, parsed_args):
        views = _saved_views(self.app.reader, parsed_args.server,
                             parsed_args.action)
        if parsed_args.action == 'all':
            return (('Action', 'Flow State') + COLUMNS,
                    [(view.action, view.state) + atom_row(atom)
                     for view in views for atom in view.atoms])
        return COLUMNS, [atom_row(atom) for view in views[-1:]
                         for atom in view.atoms]


class GraphFlow(base.Command):
    """Draw a flow as a Graphviz diagram (DOT, SVG or PNG).

    Either a stored server's flow, each task coloured by its state with its
    duration, the failed task and the revert path marked; or the flow a
    request would build (--image and --block-device as server create takes
    them), with nothing built.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', nargs='?',
                            help='Server, name or ID (or give a request '
                                 'shape)')
        parser.add_argument('--action', choices=inspection.ACTIONS,
                            default='create',
                            help='Which flow (default: create)')
        parser.add_argument('--image', help='Request shape: the image to '
                                            'boot from')
        parser.add_argument('--block-device',
                            action=objects.BlockDeviceAction, default=[],
                            dest='block_devices', metavar='KEY=VALUE,...',
                            help='Request shape: a block device, as server '
                                 'create takes it (repeatable)')
        parser.add_argument('--format', choices=diagram.FORMATS,
                            default='dot', dest='output_format',
                            help='dot (default), svg or png')
        parser.add_argument('-o', '--output', metavar='FILE',
                            help='Write to FILE (default, or -: standard '
                                 'output)')
        return parser

    def take_action(self, parsed_args):
        view = self._view(parsed_args)
        to_stdout = parsed_args.output in (None, '-')
        binary = parsed_args.output_format == 'png'
        stdout = getattr(self.app.stdout, 'buffer', None)
        if to_stdout and binary and (stdout is None
                                     or self.app.stdout.isatty()):
            raise exception.InvalidRequest(
                'PNG output goes to a file (-o FILE) or a pipe, not to a '
                'terminal.')
        try:
            drawn = diagram.render(view, parsed_args.output_format)
        except graphviz.ExecutableNotFound:
            raise exception.SpawnflowError(
                'Graphviz\'s dot is not installed (Debian: apt-get install '
                'graphviz).')
        if not to_stdout:
            _write(parsed_args.output, drawn)
        elif binary:
            self.app.stdout.flush()
            stdout.write(drawn)
            stdout.flush()
        else:
            self.app.stdout.write(drawn.decode())

    def _view(self, parsed_args):
        shape_given = parsed_args.image or parsed_args.block_devices
        if parsed_args.server and shape_given:
            raise exception.InvalidRequest(
                'Give a server, or a request shape (--image, '
                '--block-device), not both.')
        if parsed_args.server:
            return _saved_views(self.app.reader, parsed_args.server,
                                parsed_args.action)[-1]
        if not shape_given:
            raise exception.InvalidRequest(
                'Give a server, or a request shape: --image and/or '
                '--block-device.')
        return inspection.plan(parsed_args.action, admission.
                               block_device_shape(parsed_args.image,
                                                  parsed_args.block_devices))


def _saved_views(reader, server, action):
    """The server's flow views for ``action``; an error when there are
    none (a build that crashed before its flow was saved, a delete not
    asked for); InstanceNotFound for an unknown server."""
    server = lookup.server_id(reader.db, server, read_deleted=True)
    views = reader.flows(server, action)
    if not views:
        raise exception.SpawnflowError(
            'Server %s has no %sflow saved.'
            % (server, '' if action == 'all' else action + ' '))
    return views


def _write(path, data):
    """Write ``data`` to ``path``: a new or regular file is replaced whole
    or not at all; anything else (a device, a pipe, a symlink's target)
    is written into, as a shell redirection would."""
    try:
        if os.path.islink(path) or (os.path.exists(path)
                                    and not os.path.isfile(path)):
            with open(path, 'wb') as out:
                out.write(data)
            return
        with fileutils.atomic_file(
                os.path.abspath(path),
                permissions=fileutils.user_file_permissions()) as out:
            out.write(data)
    except OSError as error:
        raise exception.SpawnflowError('Cannot write %s: %s'
                                       % (path, error.strerror or error))

"""``spawnflow console log``: what the guest printed on its serial console."""

import argparse

from spawnflow.cli import base
from spawnflow.cli import lookup

#: More lines than the log's read end (console.MAX_BYTES) could hold.
MAX_LINES = 10 ** 6


class ShowConsoleLog(base.Command):
    """Show the guest's console log, without escape sequences.

    The log is the guest's serial port as virtlogd keeps it; terminal
    escape sequences and control characters are removed. It is read on
    the server's host only.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', help='Server (name or ID)')
        parser.add_argument('--lines', metavar='N', type=_lines,
                            help='Only the last N lines')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client
        uuid = lookup.server_id(client.db, parsed_args.server)
        for line in client.console_log(uuid, parsed_args.lines):
            self.app.stdout.write(line + '\n')


def _lines(value):
    if not (value.isascii() and value.isdigit()) or len(value) > 7 \
            or int(value) > MAX_LINES:
        raise argparse.ArgumentTypeError(
            'a number of lines from 0 to %d, not %r' % (MAX_LINES, value))
    return int(value)

"""``spawnflow dashboard``: serve the read-only web page of the builds."""

import argparse
import signal
import threading

from spawnflow import lazy
from spawnflow.cli import base

dashboard = lazy.module('spawnflow.dashboard')


def _port(value):
    port = int(value) if value.isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            'a port is a number from 0 to 65535, not %r' % value)
    return port


class RunDashboard(base.Command):
    """Serve a read-only web page of the builds until Ctrl-C or SIGTERM.

    It shows the builds, and each build's diagram and tasks, following
    them as they run; nothing on it changes state.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--bind', metavar='ADDRESS',
                            help='Address to listen on (default: '
                                 '[dashboard] host, 127.0.0.1)')
        parser.add_argument('--port', type=_port,
                            help='Port to listen on (default: [dashboard] '
                                 'port, 8470; 0 picks a free one)')
        return parser

    def take_action(self, parsed_args):
        reader = self.app.reader
        reader.instances()  # a database it cannot read: one clear error
        server = dashboard.serve(reader, self.app.conf, parsed_args.bind,
                                 parsed_args.port)
        stopping = threading.Event()
        self.app.on_interrupt = stopping.set
        previous = signal.signal(signal.SIGTERM,
                                 lambda signum, frame: stopping.set())
        try:
            self.app.stdout.write('Dashboard on %s (read-only)\n'
                                  % server.url)
            self.app.stdout.flush()
            stopping.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.app.on_interrupt = None
            server.shutdown()

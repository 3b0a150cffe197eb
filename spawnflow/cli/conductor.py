"""``spawnflow conductor`` and ``spawnflow job list``."""

import logging
import signal

from spawnflow import exception
from spawnflow import lazy
from spawnflow.cli import base

conductor = lazy.module('spawnflow.conductor')
dashboard = lazy.module('spawnflow.dashboard')

LOG = logging.getLogger(__name__)


class RunConductor(base.Command):
    """Claim build and delete jobs from the job board and run them.

    It runs until SIGTERM or Ctrl-C: then the running tasks finish, the
    unfinished jobs are given back (another conductor goes on from their
    last saved task), and the conductor exits.
    """

    def take_action(self, parsed_args):
        client = self.app.client
        if client.board is None:
            raise exception.InvalidRequest(
                'No job board is configured ([jobboard] backend): there are '
                'no jobs to run.')
        service = conductor.Conductor(client.engine, client.board,
                                      client.conf)
        servers = []
        self.app.on_interrupt = service.stop
        previous = signal.signal(signal.SIGTERM,
                                 lambda signum, frame: service.stop())
        try:
            port = client.conf.conductor.metrics_port
            if port:
                servers.append(service.metrics.serve(
                    client.conf.conductor.metrics_host, port))
            if client.conf.conductor.serve_dashboard:
                page = dashboard.serve(self.app.reader, client.conf)
                servers.append(page)
                LOG.info('Dashboard on %s', page.url)
            service.run()
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.app.on_interrupt = None
            for server in servers:
                server.shutdown()


class ListJob(base.Lister):
    """List the job board's jobs.

    Each with its instance, action, state, owner and when the owner's
    claim expires unless renewed.
    """

    def take_action(self, parsed_args):
        columns = ('ID', 'Server', 'Action', 'State', 'Owner',
                   'Claim Expires In')
        rows = [(job['uuid'], job['instance_uuid'], job['action'],
                 job['state'], job['owner'] or '',
                 '' if job['expires_in'] is None
                 else '%.1fs' % job['expires_in'])
                for job in self.app.client.jobs()]
        return columns, rows

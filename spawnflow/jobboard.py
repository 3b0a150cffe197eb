"""The job board: TaskFlow's Redis (or ZooKeeper) board, from [jobboard].

A job is one action on one instance. Its details are plain data: the
instance, the action, the flow detail to run (builds: recorded at
admission) and the *posting*, a ticket that the flow's ``flow_owners``
row also holds. Only the job whose posting the row names may run the
flow; a job posted twice by a race (two ``resume`` at once) is a stale
copy that its claimant consumes without running it.
"""

import contextlib
import logging
import uuid as uuidlib

from taskflow import exceptions as tf_exceptions
from taskflow.jobs import backends as job_backends

from spawnflow import exception

LOG = logging.getLogger(__name__)

DEFAULT_PORTS = {'redis': 6379, 'zookeeper': 2181}


def enabled(conf):
    return conf.jobboard.backend != 'none'


def board_conf(conf):
    """TaskFlow's configuration of the board [jobboard] names."""
    group = conf.jobboard
    port = group.port or DEFAULT_PORTS[group.backend]
    if group.backend == 'redis':
        board = {'board': 'redis', 'host': group.hosts[0], 'port': port,
                 'namespace': group.namespace,
                 'socket_timeout': group.socket_timeout,
                 'socket_connect_timeout': group.socket_timeout}
        if group.password:
            board['password'] = group.password
        return board
    return {'board': 'zookeeper',
            'hosts': ','.join('%s:%s' % (host, port) for host in group.hosts),
            'path': '/spawnflow/jobs/%s' % group.namespace,
            'timeout': group.socket_timeout}


def _shown(conf):
    group = conf.jobboard
    return '%s job board at %s:%s' % (
        group.backend, ','.join(group.hosts),
        group.port or DEFAULT_PORTS[group.backend])


@contextlib.contextmanager
def translated(conf):
    """The board's failures as one clear ServiceUnavailable."""
    try:
        yield
    except tf_exceptions.JobFailure as error:
        # (TaskFlow appends its cause's traceback lines.)
        reason = str(error).splitlines()[0]
        raise exception.ServiceUnavailable(
            'job board', '%s: %s' % (_shown(conf), reason)) from error


def connect(conf, persistence=None):
    """A connected board (``persistence``: where jobs' logbooks live)."""
    with translated(conf):
        board = job_backends.fetch('spawnflow', board_conf(conf),
                                   persistence=persistence)
        board.connect()
    return board


def post(board, action, instance_uuid, posting, flow_uuid=None,
         book=None):
    """Post the job that runs ``action`` on the instance."""
    details = {'instance_uuid': instance_uuid, 'action': action,
               'posting': posting}
    if flow_uuid is not None:
        details['flow_uuid'] = flow_uuid
    return board.post('%s-%s' % (action, instance_uuid), book=book,
                      details=details)


def new_posting():
    return str(uuidlib.uuid4())


def owner_of(board, job):
    """The job's owner, or None (TaskFlow 6.5's Redis board raises
    TypeError for a job nobody claimed)."""
    try:
        return board.find_owner(job)
    except (TypeError, tf_exceptions.NotFound):
        return None


def jobs(board, instance_uuid=None):
    """The board's jobs (of one instance)."""
    return [job for job in board.iterjobs(ensure_fresh=True)
            if instance_uuid is None
            or job.details.get('instance_uuid') == instance_uuid]


def describe(board, job):
    """What `job list` shows of a job."""
    expires_in = None
    if hasattr(job, 'expires_in'):
        expiry = job.expires_in()
        expires_in = expiry if isinstance(expiry, (int, float)) else None
    details = job.details or {}
    return {'uuid': job.uuid, 'name': job.name, 'state': job.state,
            'owner': owner_of(board, job),
            'expires_in': expires_in,
            'instance_uuid': details.get('instance_uuid'),
            'action': details.get('action'),
            'created_on': job.created_on}

"""[jobboard] and [conductor]: builds and deletes as jobs on a TaskFlow job
board, run by ``spawnflow conductor`` processes (Octavia's jobboard
options, under shorter names)."""

from oslo_config import cfg

jobboard_opts = [
    cfg.StrOpt('backend', default='none',
               choices=[('none', 'Run flows in the calling process'),
                        ('redis', 'TaskFlow\'s Redis job board'),
                        ('zookeeper', 'TaskFlow\'s ZooKeeper job board')],
               help='Job board that `server create` and `server delete` '
                    'post to. With "none" they run their flow themselves '
                    '(the embedded default).'),
    cfg.ListOpt('hosts', default=['127.0.0.1'],
                help='Job board servers (Redis: the first is used; '
                     'ZooKeeper: the ensemble).'),
    cfg.PortOpt('port',
                help='Job board port. Default: 6379 for Redis, 2181 for '
                     'ZooKeeper.'),
    cfg.StrOpt('password', secret=True,
               help='Redis password (AUTH).'),
    cfg.StrOpt('namespace', default='spawnflow',
               help='Redis key prefix, or ZooKeeper path under '
                    '/spawnflow/jobs: deployments sharing a server keep '
                    'their jobs apart by it.'),
    cfg.IntOpt('claim_expiry', default=30, min=3,
               help='Seconds a conductor\'s claim on a job lives unless its '
                    'owner keeps it alive (every third of it, from a thread '
                    'of its own, however long a task runs). A dead or '
                    'paused conductor\'s jobs are taken over that long '
                    'after it last renewed them. (Redis; ZooKeeper claims '
                    'end with their session.)'),
    cfg.FloatOpt('socket_timeout', default=5.0, min=0.1,
                 help='Seconds a job board request may take.'),
]

conductor_opts = [
    cfg.StrOpt('name',
               help='Owner name this process claims jobs and flows under; '
                    'give each conductor its own (two processes with one '
                    'name would take each other\'s claims for their own). '
                    'Default: <host>:<machine>:<pid>, unique per process.'),
    cfg.IntOpt('max_jobs', default=4, min=1,
               help='Jobs a conductor runs at once.'),
    cfg.FloatOpt('poll_interval', default=0.5, min=0.05,
                 help='Seconds between two looks at the job board for jobs '
                      'to claim (new, released or abandoned).'),
    cfg.FloatOpt('defer_interval', default=1.0, min=0.0,
                 help='Seconds a conductor leaves a job it gave back '
                      'because it must wait (a delete waiting for its '
                      'build) before it looks at it again.'),
    cfg.HostAddressOpt('metrics_host', default='127.0.0.1',
                       help='Address the Prometheus metrics endpoint '
                            'listens on.'),
    cfg.PortOpt('metrics_port', default=0,
                help='Port of the Prometheus metrics endpoint (/metrics); '
                     '0 serves none.'),
    cfg.BoolOpt('serve_dashboard', default=False,
                help='Serve the read-only dashboard ([dashboard] host and '
                     'port) while the conductor runs.'),
    cfg.IntOpt('admission_grace', default=60, min=0,
               help='Seconds after which `spawnflow resume` (with a job '
                    'board) fails a BUILD instance that has no flow: its '
                    'admission crashed between recording it and saving '
                    'its flow.'),
]


def register_opts(conf):
    conf.register_opts(jobboard_opts, group='jobboard')
    conf.register_opts(conductor_opts, group='conductor')


def list_opts():
    return {'jobboard': jobboard_opts, 'conductor': conductor_opts}

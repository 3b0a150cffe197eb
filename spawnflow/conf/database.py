"""[database]: the one SQL database for spawnflow's tables and TaskFlow's."""

from oslo_config import cfg


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('database', title='Database options')


database_opts = [
    cfg.StrOpt('connection',
               default='sqlite:///$state_path/spawnflow.sqlite',
               secret=True,
               help='SQLAlchemy URL of the database. SQLite (default), '
                    'PostgreSQL (postgresql+psycopg2://...) and MySQL '
                    '(mysql+pymysql://...) are supported.'),
    cfg.IntOpt('sqlite_busy_timeout', default=10, min=1,
               help='Seconds a SQLite writer waits for a lock before its '
                    'transaction fails (and is retried, see '
                    'db_max_retries).'),
    cfg.StrOpt('sqlite_synchronous', default='NORMAL',
               choices=[('NORMAL', 'A commit survives the process being '
                                   'killed, not a power loss or a kernel '
                                   'crash, which may lose the last '
                                   'commits (the database stays '
                                   'consistent: a resume goes on from an '
                                   'earlier task)'),
                        ('FULL', 'A commit survives a power loss too, at '
                                 'the cost of an fsync per commit')],
               help='How durable a commit to a SQLite database (WAL mode) '
                    'is.'),
    cfg.IntOpt('idle_transaction_timeout', default=10, min=1,
               help='Seconds a PostgreSQL or MariaDB server lets a '
                    'connection sit idle inside a transaction before it '
                    'ends the session. spawnflow\'s transactions are short; '
                    'a process stopped in one (paused, frozen, cut off) '
                    'would otherwise hold its row locks, and so the '
                    'takeover of its flows, for as long as it stays '
                    'stopped. (PostgreSQL\'s '
                    'idle_in_transaction_session_timeout, MariaDB\'s '
                    'idle_transaction_timeout.)'),
    cfg.IntOpt('db_max_retries', default=5, min=0,
               help='How many times a database transaction that failed '
                    'transiently (database busy or locked, deadlock, lost '
                    'or refused connection) is retried (oslo.db\'s option, '
                    'whose default of 20 makes an unreachable database '
                    'take minutes to report).'),
    cfg.FloatOpt('db_retry_interval', default=1.0, min=0.0,
                 help='Seconds before the first retry of a transaction; '
                      'each further retry waits twice as long, up to '
                      'db_max_retry_interval (oslo.db\'s option).'),
    cfg.FloatOpt('db_max_retry_interval', default=10.0, min=0.0,
                 help='The longest wait between two retries of a '
                      'transaction (oslo.db\'s option).'),
]


def register_opts(conf):
    database_group = _group()
    conf.register_group(database_group)
    conf.register_opts(database_opts, group=database_group)


def list_opts():
    database_group = _group()
    return {database_group: database_opts}

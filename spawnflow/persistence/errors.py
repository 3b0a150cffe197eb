"""Database errors as users can act on them, and which of them pass.

SQLAlchemy raises the driver's error wrapped in a ``DBAPIError``; the
drivers say precisely what happened through their error codes (SQLite's
``sqlite_errorname``, PostgreSQL's SQLSTATE, MySQL's error number), which
this module reads instead of matching message texts. (oslo.db's exception
filters match texts, and log every error they wrap with its traceback.)

``translate`` turns such an error into a SpawnflowError whose message names
the database (never its password): ServiceUnavailable for what may pass (a
busy or locked database, a deadlock, a lost connection), which callers
retry; SchemaMissing, or DatabaseError saying read-only, corrupted or what
the driver said, for the rest.
"""

import threading

import sqlalchemy as sa

from spawnflow import exception

SERVICE = 'The database'

#: SQLSTATE classes and codes: connection exceptions, operator
#: intervention (a server shutting down), deadlock and serialization.
_PG_TRANSIENT_CLASSES = ('08', '57')
_PG_TRANSIENT = {'40001', '40P01', '55P03'}
_PG_NO_TABLE = '42P01'
_PG_READ_ONLY = '25006'
#: Lock wait timeout, deadlock; can't connect, server gone, lost
#: connection, server shutting down.
_MYSQL_TRANSIENT = {1205, 1213, 2002, 2003, 2006, 2013, 1053}
_MYSQL_NO_TABLE = 1146
_MYSQL_READ_ONLY = {1290, 1792, 1836}
#: What a refused or dropped connection says where the driver gives no
#: code (PostgreSQL and MySQL drivers while connecting).
_CONNECTION_TEXTS = ('connection refused', 'could not connect',
                     'timeout expired', 'server closed the connection',
                     'lost connection', "can't connect")


def _kind(backend, dbapi_error):
    """'transient', 'no-table', 'read-only', 'corrupted', 'cannot-open' or
    None, by the code the ``backend``'s driver gives."""
    if backend == 'sqlite':
        name = getattr(dbapi_error, 'sqlite_errorname', None) or ''
        if name.startswith(('SQLITE_BUSY', 'SQLITE_LOCKED')):
            return 'transient'
        if name.startswith('SQLITE_READONLY'):
            return 'read-only'
        if name.startswith(('SQLITE_CORRUPT', 'SQLITE_NOTADB')):
            return 'corrupted'
        if name.startswith('SQLITE_CANTOPEN'):
            return 'cannot-open'
        if str(dbapi_error).startswith('no such table'):
            return 'no-table'
    elif backend == 'postgresql':
        code = getattr(dbapi_error, 'pgcode', None) or getattr(
            dbapi_error, 'sqlstate', None) or ''
        if code in _PG_TRANSIENT or code[:2] in _PG_TRANSIENT_CLASSES:
            return 'transient'
        return {_PG_NO_TABLE: 'no-table',
                _PG_READ_ONLY: 'read-only'}.get(code)
    elif backend == 'mysql':
        # PyMySQL gives the server's error number first (and a SQLSTATE
        # too, which is too coarse: HY000 for most).
        number = dbapi_error.args[0] if dbapi_error.args else None
        if number in _MYSQL_TRANSIENT:
            return 'transient'
        if number == _MYSQL_NO_TABLE:
            return 'no-table'
        if number in _MYSQL_READ_ONLY:
            return 'read-only'
    return None


def _first_line(error):
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def translate(error, url):
    """A SpawnflowError for ``error`` (a SQLAlchemy error, or one caused
    by one) on the database at ``url`` (a SQLAlchemy URL); None when
    ``error`` did not come from the database."""
    while error is not None and not isinstance(error, sa.exc.SQLAlchemyError):
        error = error.__cause__
    if error is None:
        return None
    shown = url.render_as_string(hide_password=True)
    if not isinstance(error, sa.exc.DBAPIError):
        return exception.DatabaseError('Database error on %s: %s'
                                       % (shown, _first_line(error)))
    reason = _first_line(error.orig)
    kind = ('transient' if error.connection_invalidated
            else _kind(url.get_backend_name(), error.orig))
    if kind == 'transient':
        return exception.ServiceUnavailable(SERVICE, '%s: %s'
                                            % (shown, reason))
    if kind == 'no-table':
        return exception.SchemaMissing(shown)
    if kind == 'read-only':
        return exception.DatabaseError('The database %s is read-only: %s'
                                       % (shown, reason))
    if kind == 'corrupted':
        return exception.DatabaseError(
            'The database %s is corrupted or not a database: %s'
            % (shown, reason))
    if kind == 'cannot-open':
        return exception.DatabaseError('Cannot open the database %s: %s'
                                       % (shown, reason))
    if isinstance(error, sa.exc.OperationalError) and any(
            text in reason.lower() for text in _CONNECTION_TEXTS):
        return exception.ServiceUnavailable(SERVICE, '%s: %s'
                                            % (shown, reason))
    return exception.DatabaseError('Database error on %s: %s'
                                   % (shown, reason))


_guarding = threading.local()


def guarded(policy, url, what, function, *args, **kwargs):
    """``function(*args, **kwargs)`` with database errors translated and
    the transient ones retried as ``policy`` says. A guarded call made
    inside another (a repository function calling another) is neither
    translated nor retried on its own: the outermost call repeats the
    whole."""
    if getattr(_guarding, 'active', False):
        return function(*args, **kwargs)

    def once():
        try:
            return function(*args, **kwargs)
        except Exception as error:
            translated = translate(error, url)
            if translated is None:
                raise
            raise translated from error

    _guarding.active = True
    try:
        return policy.call(what, once)
    finally:
        _guarding.active = False

"""What the drivers share to tell a passing failure from a final one."""

from urllib3 import exceptions as urllib3_exceptions

#: HTTP answers that say "not now" rather than "no": the server failed or
#: is overloaded (a request that failed so did nothing it would regret).
TRANSIENT_STATUS = frozenset((429, 500, 502, 503, 504))


def reason(error):
    """The innermost OS-level message of an error, else its text.

    HTTP libraries wrap each other's errors (keystoneauth wraps requests,
    which wraps urllib3, which wraps the socket's); the socket's
    ("Connection refused", a certificate failure) is what a user can act
    on.
    """
    seen = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        pending.extend(e for e in (current.__cause__, current.__context__,
                                   getattr(current, 'reason', None),
                                   *current.args)
                       if isinstance(e, BaseException))
    return str(error)


def transfer_failure(error, timeout):
    """How a transfer went wrong, for "the transfer of X ...": it stalled
    (a read timed out after ``timeout`` seconds) or broke (why)."""
    current, seen = error, set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (TimeoutError,
                                urllib3_exceptions.ReadTimeoutError)):
            return 'stalled: no data for %s seconds' % timeout
        current = (current.__cause__ or current.__context__
                   or next((a for a in current.args
                            if isinstance(a, BaseException)), None))
    return 'broke: %s' % reason(error)

"""keystoneauth1 sessions for the OpenStack drivers, from config groups,
and what keystoneauth's errors mean for them."""

import re

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1.loading import adapter as ks_adapter
from keystoneauth1 import service_token

from spawnflow import conf as spawnflow_conf
from spawnflow.drivers import errors
from spawnflow import exception

#: The URL in keystoneauth's "Unable to establish connection to URL: ...",
#: without its query.
_URL = re.compile(r'connection to ([^\s?]+?)(?:\?\S*)?: ')


def session(conf, group):
    """A Session with ``group``'s auth, plus the service token if enabled."""
    spawnflow_conf.register_client_opts(conf, group)
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    if conf.service_user.send_service_user_token:
        spawnflow_conf.register_client_opts(conf, 'service_user')
        auth = service_token.ServiceTokenAuthWrapper(
            user_auth=auth,
            service_auth=ks_loading.load_auth_from_conf_options(
                conf, 'service_user'))
    return ks_loading.load_session_from_conf_options(conf, group, auth=auth)


def client_kwargs(conf, group):
    """The session and every adapter option of ``group`` (endpoint,
    interfaces, region, versions, connect and status code retries) as the
    keyword arguments of a client built on keystoneauth's Adapter, as
    python-cinderclient's and python-glanceclient's are.

    The arguments are keystoneauth's own reading of its options, the one
    ``load_adapter_from_conf_options`` makes: the clients build their
    Adapter subclass themselves. Conflicting options (``version`` with
    ``min_version``, an unknown interface) are refused in one line.
    """
    spawnflow_conf.register_client_opts(conf, group)
    kwargs = {}
    try:
        ks_adapter.process_conf_options(conf[group], kwargs)
    except TypeError as error:
        raise exception.SpawnflowError('[%s] %s.' % (group, error)) from error
    kwargs['session'] = session(conf, group)
    return kwargs


def translated(service, what, error, refused):
    """The SpawnflowError for keystoneauth's ``error``, met by ``service``
    doing ``what``: ServiceUnavailable when it may pass (no connection, a
    timeout, an answer cut short, an auth service's 5xx), else
    ``refused`` (no catalog entry, failed discovery, refused credentials
    or certificate)."""
    if isinstance(error, (ks_exceptions.RetriableConnectionFailure,
                          ks_exceptions.UnknownConnectionError)):
        # (Unknown: the connection broke in a way requests did not name.)
        found = _URL.search(str(error))
        return exception.ServiceUnavailable(service, 'cannot %s: %s%s' % (
            what, errors.reason(error),
            ' (%s)' % found.group(1) if found else ''))
    if isinstance(error, ks_exceptions.HttpError) and (
            error.http_status in errors.TRANSIENT_STATUS):
        return exception.ServiceUnavailable(service, '%s failed: %s'
                                            % (what, error))
    return refused('Cannot use %s: %s' % (service, error))

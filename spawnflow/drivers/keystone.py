"""keystoneauth1 sessions for the OpenStack drivers, from config groups,
and what keystoneauth's errors mean for them."""

import re

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import service_token

from spawnflow.drivers import errors
from spawnflow import exception

#: The URL in keystoneauth's "Unable to establish connection to URL: ...",
#: without its query.
_URL = re.compile(r'connection to ([^\s?]+?)(?:\?\S*)?: ')


def session(conf, group):
    """A Session with ``group``'s auth, plus the service token if enabled."""
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    if conf.service_user.send_service_user_token:
        auth = service_token.ServiceTokenAuthWrapper(
            user_auth=auth,
            service_auth=ks_loading.load_auth_from_conf_options(
                conf, 'service_user'))
    return ks_loading.load_session_from_conf_options(conf, group, auth=auth)


def endpoint_kwargs(conf, group):
    """Service type, region, interface and endpoint override of ``group``."""
    options = conf[group]
    interfaces = options.valid_interfaces or ['internal', 'public']
    return {'service_type': options.service_type,
            'region_name': options.region_name,
            'interface': interfaces[0],
            'endpoint_override': options.endpoint_override}


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

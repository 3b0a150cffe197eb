"""keystoneauth1 sessions for the OpenStack drivers, from config groups."""

from keystoneauth1 import loading as ks_loading
from keystoneauth1 import service_token


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

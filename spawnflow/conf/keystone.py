"""keystoneauth1's auth, session and adapter options for a service group.

They are registered when a client of the service is made, not with the
rest of the configuration: keystoneauth1 (and requests, which it loads)
would cost every command about 0.1 s, and most commands make no client.
So keystoneauth1 is imported by these functions, not with this module
(even a lazy module imports its package, keystoneauth1's own 30 ms).
"""

from oslo_config import cfg

#: Seconds a request to a service may wait for the connection and then
#: for each read ([cinder] and [glance] timeout), so a stalled answer or
#: image transfer fails (and is retried) instead of hanging a build.
#: keystoneauth's own default is no timeout.
DEFAULT_TIMEOUT = 60
#: The endpoints of the catalog tried, in this order (Nova's default).
DEFAULT_INTERFACES = ['internal', 'public']


def register_opts(conf, group, service_type=None):
    """Register auth and session options, and, when ``service_type`` is
    given, adapter options (endpoint, interfaces, region, versions,
    retries) defaulting to it (again: a no-op)."""
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    if service_type:
        ks_loading.register_adapter_conf_options(conf, group,
                                                 include_deprecated=False)
        conf.set_default('service_type', service_type, group=group)
        conf.set_default('valid_interfaces', DEFAULT_INTERFACES, group=group)
        conf.set_default('timeout', DEFAULT_TIMEOUT, group=group)


def list_opts(service_type=None):
    """The same options for the sample config (password auth shown)."""
    from keystoneauth1 import loading as ks_loading
    session = ks_loading.get_session_conf_options()
    opts = (session + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options('password'))
    if service_type:
        cfg.set_defaults(session, timeout=DEFAULT_TIMEOUT)
        adapter = ks_loading.get_adapter_conf_options(
            include_deprecated=False)
        cfg.set_defaults(adapter, service_type=service_type,
                         valid_interfaces=DEFAULT_INTERFACES)
        opts += adapter
    return opts

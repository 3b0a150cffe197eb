"""keystoneauth1's auth, session and adapter options for a service group."""

from keystoneauth1 import loading as ks_loading

#: Seconds a request to a service may wait for the connection and then
#: for each read ([cinder] and [glance] timeout), so a stalled answer or
#: image transfer fails (and is retried) instead of hanging a build.
#: keystoneauth's own default is no timeout.
DEFAULT_TIMEOUT = 60


def register_opts(conf, group, service_type=None):
    """Register auth and session options, and adapter options (endpoint,
    interface, region) defaulting to ``service_type`` when it is given."""
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    if service_type:
        ks_loading.register_adapter_conf_options(conf, group,
                                                 include_deprecated=False)
        conf.set_default('service_type', service_type, group=group)
        conf.set_default('timeout', DEFAULT_TIMEOUT, group=group)


def list_opts(adapter=True):
    """The same options for the sample config (password auth shown)."""
    session = ks_loading.get_session_conf_options()
    if adapter:
        for opt in session:
            if opt.dest == 'timeout':
                opt.default = DEFAULT_TIMEOUT
    opts = (session + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options('password'))
    if adapter:
        opts += ks_loading.get_adapter_conf_options(include_deprecated=False)
    return opts

"""keystoneauth1's auth, session and adapter options for a service group."""

from keystoneauth1 import loading as ks_loading


def register_opts(conf, group, service_type=None):
    """Register auth and session options, and adapter options (endpoint,
    interface, region) defaulting to ``service_type`` when it is given."""
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    if service_type:
        ks_loading.register_adapter_conf_options(conf, group,
                                                 include_deprecated=False)
        conf.set_default('service_type', service_type, group=group)


def list_opts(adapter=True):
    """The same options for the sample config (password auth shown)."""
    opts = (ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options('password'))
    if adapter:
        opts += ks_loading.get_adapter_conf_options(include_deprecated=False)
    return opts

"""[glance]: the image service, through keystoneauth1 (as Nova's [glance])."""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('glance', title='Glance (image driver "glance")')


glance_opts = [
    cfg.IntOpt('num_retries', default=3, min=0,
               help='Retries of a failed metadata call (not of downloads, '
                    'which are verified and restarted whole).'),
]

DEFAULT_SERVICE_TYPE = 'image'


def register_opts(conf):
    glance_group = _group()
    conf.register_group(glance_group)
    conf.register_opts(glance_opts, group=glance_group)
    ks_loading.register_session_conf_options(conf, glance_group.name)
    ks_loading.register_auth_conf_options(conf, glance_group.name)
    ks_loading.register_adapter_conf_options(
        conf, glance_group.name, include_deprecated=False)
    conf.set_default('service_type', DEFAULT_SERVICE_TYPE,
                     group=glance_group.name)


def list_opts():
    glance_group = _group()
    return {glance_group: (
        glance_opts
        + ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options('password')
        + ks_loading.get_adapter_conf_options(include_deprecated=False))}

"""[glance]: the image service, through keystoneauth1 (as Nova's [glance])."""

from oslo_config import cfg

from spawnflow.conf import keystone

SERVICE_TYPE = 'image'


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('glance', title='Glance (image driver "glance")')


glance_opts = [
    cfg.IntOpt('num_retries', default=3, min=0,
               help='How many times a call to Glance, or an image '
                    'download, that failed transiently (connection refused '
                    'or reset, timeout, HTTP 5xx) is retried (Nova\'s '
                    'option).'),
]


def register_opts(conf):
    """This group's own options (keystoneauth1's: register_client_opts)."""
    conf.register_group(_group())
    conf.register_opts(glance_opts, group='glance')


def register_client_opts(conf):
    """keystoneauth1's options of this group, which a client of the
    service reads (registered by drivers.keystone when it makes one)."""
    keystone.register_opts(conf, 'glance', SERVICE_TYPE)


def list_opts():
    return {_group(): glance_opts + keystone.list_opts(SERVICE_TYPE)}

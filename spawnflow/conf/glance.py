"""[glance]: the image service, through keystoneauth1 (as Nova's [glance])."""

from oslo_config import cfg

from spawnflow.conf import keystone

SERVICE_TYPE = 'image'


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('glance', title='Glance (image driver "glance")')


def register_opts(conf):
    conf.register_group(_group())
    keystone.register_opts(conf, 'glance', SERVICE_TYPE)


def list_opts():
    return {_group(): keystone.list_opts()}

"""[service_user]: the service token sent with user requests (Nova's names).

Cinder lets only a service delete an attachment that is connected to a
server (bug #2004555); a Nova-like client proves it is one by sending a
service token next to the user's.
"""

from oslo_config import cfg

from spawnflow.conf import keystone


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('service_user', title='Service user')


service_user_opts = [
    cfg.BoolOpt('send_service_user_token', default=False,
                help='Send a service token (X-Service-Token) with requests '
                     'to Cinder and Glance.'),
]


def register_opts(conf):
    """This group's own options (keystoneauth1's: register_client_opts)."""
    conf.register_group(_group())
    conf.register_opts(service_user_opts, group='service_user')


def register_client_opts(conf):
    """keystoneauth1's options of this group, which a client of the
    service reads (registered by drivers.keystone when it makes one)."""
    keystone.register_opts(conf, 'service_user')


def list_opts():
    return {_group(): service_user_opts + keystone.list_opts()}

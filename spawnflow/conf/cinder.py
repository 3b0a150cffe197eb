"""[cinder]: the volume service, through keystoneauth1 (as Nova's [cinder]).

Auth, session and adapter options are keystoneauth1's own, so any auth
plugin works (password, application credential, Cinder's ``noauth``), and
``endpoint_override`` points at a Cinder without a catalog.
"""

from oslo_config import cfg

from spawnflow.conf import keystone


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('cinder', title='Cinder (volume driver "cinder")')


cinder_opts = [
    cfg.StrOpt('api_version', default='3.44',
               help='Block Storage API microversion; at least 3.44 (the '
                    'attachments API with complete).'),
    cfg.IntOpt('http_retries', default=3, min=0,
               help='How many times a call to Cinder that failed '
                    'transiently (connection refused or reset, timeout, '
                    'HTTP 5xx) is retried (Nova\'s option); creates are '
                    'retried only after a search by their metadata finds '
                    'nothing.'),
    cfg.StrOpt('notification_transport_url', secret=True,
               help='oslo.messaging URL of the bus Cinder sends its '
                    'notifications to (Cinder\'s '
                    '[oslo_messaging_notifications] driver = messagingv2). '
                    'When set, volume waits wake on volume.* notifications '
                    'instead of waiting for their next poll.'),
    cfg.StrOpt('notification_topic', default='notifications',
               help='Topic of Cinder\'s notifications.'),
    cfg.IntOpt('notification_poll_interval', default=10, min=1,
               help='With notifications, seconds between the polls that '
                    'catch a missed notification (the overall wait budget '
                    'is still block_device_allocate_retries x '
                    'block_device_allocate_retries_interval).'),
]

SERVICE_TYPE = 'block-storage'


def register_opts(conf):
    """This group's own options (keystoneauth1's: register_client_opts)."""
    conf.register_group(_group())
    conf.register_opts(cinder_opts, group='cinder')


def register_client_opts(conf):
    """keystoneauth1's options of this group, which a client of the
    service reads (registered by drivers.keystone when it makes one)."""
    keystone.register_opts(conf, 'cinder', SERVICE_TYPE)


def list_opts():
    return {_group(): cinder_opts + keystone.list_opts(SERVICE_TYPE)}

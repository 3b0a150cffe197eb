"""[dashboard]: the read-only web page of the builds (``spawnflow
dashboard``, and ``spawnflow conductor`` with serve_dashboard)."""

from oslo_config import cfg

dashboard_opts = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the dashboard listens on. It shows '
                            'every build of the deployment: expose it '
                            'beyond this host only behind an '
                            'authenticating proxy.'),
    cfg.PortOpt('port', default=8470,
                help='Port the dashboard listens on.'),
    cfg.ListOpt('trusted_hosts', default=[],
                help='Host names (as in the Host header) the dashboard '
                     'answers besides localhost, the loopback addresses '
                     'and the address it listens on; any other gets 400 '
                     '(a page that points its own name at this address '
                     'cannot read the dashboard).'),
    cfg.FloatOpt('refresh_interval', default=1.0, min=0.2,
                 help='Seconds between two looks of an open page at the '
                      'build it shows (the page follows it without a '
                      'reload).'),
]


def register_opts(conf):
    conf.register_opts(dashboard_opts, group='dashboard')


def list_opts():
    return {'dashboard': dashboard_opts}

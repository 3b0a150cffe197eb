"""Configuration: one module per option group, registered on a ConfigOpts.

spawnflow never relies on the global ``cfg.CONF``: every component takes the
``ConfigOpts`` it was given, so a service can embed several independent
spawnflow configurations (and tests can build one per test).
"""

from oslo_config import cfg
from oslo_log import log

from spawnflow.conf import cinder
from spawnflow.conf import compute
from spawnflow.conf import dashboard
from spawnflow.conf import database
from spawnflow.conf import glance
from spawnflow.conf import image
from spawnflow.conf import jobboard
from spawnflow.conf import libvirt
from spawnflow.conf import service_user
from spawnflow.conf import volume

_MODULES = (compute, database, image, libvirt, volume, cinder, glance,
            service_user, jobboard, dashboard)


def register_opts(conf):
    """spawnflow's option groups and oslo.log's [DEFAULT] options."""
    log.register_options(conf)
    for module in _MODULES:
        module.register_opts(conf)


#: The groups whose clients read keystoneauth1's options.
CLIENT_GROUPS = {'cinder': cinder, 'glance': glance,
                 'service_user': service_user}


def register_client_opts(conf, group):
    """keystoneauth1's options of ``group`` (cinder, glance or
    service_user), for a client of its service about to be made."""
    CLIENT_GROUPS[group].register_client_opts(conf)


def load(config_files=None, args=None):
    """Return a ConfigOpts with every spawnflow option, parsed.

    ``config_files`` replaces oslo.config's default search path when given.
    Raises oslo.config's ConfigFilesNotFoundError,
    ConfigFilesPermissionDeniedError or ConfigFileParseError for files that
    cannot be used.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    kwargs = {}
    if config_files is not None:
        kwargs['default_config_files'] = list(config_files)
    conf(args=list(args or []), project='spawnflow', **kwargs)
    return conf

"""[local_volume]: the file-backed volumes of the ``local`` driver."""

from oslo_config import cfg


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('local_volume', title='Local volume store')


local_volume_opts = [
    cfg.StrOpt('volumes_path', default='$state_path/volumes',
               help='Directory holding volume files (qcow2), their '
                    'metadata and snapshots.'),
]


def register_opts(conf):
    local_volume_group = _group()
    conf.register_group(local_volume_group)
    conf.register_opts(local_volume_opts, group=local_volume_group)


def list_opts():
    local_volume_group = _group()
    return {local_volume_group: local_volume_opts}

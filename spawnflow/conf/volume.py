"""[local_volume]: the file-backed volumes of the ``local`` driver."""

from oslo_config import cfg

local_volume_group = cfg.OptGroup('local_volume', title='Local volume store')

local_volume_opts = [
    cfg.StrOpt('volumes_path', default='$state_path/volumes',
               help='Directory holding volume files (qcow2), their '
                    'metadata and snapshots.'),
]


def register_opts(conf):
    conf.register_group(local_volume_group)
    conf.register_opts(local_volume_opts, group=local_volume_group)


def list_opts():
    return {local_volume_group: local_volume_opts}

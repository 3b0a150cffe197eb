"""[local_image]: the directory image store used by the ``local`` driver."""

from oslo_config import cfg


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('local_image', title='Local image store')


local_image_opts = [
    cfg.StrOpt('images_path', default='$state_path/images',
               help='Directory holding image data and metadata.'),
]


def register_opts(conf):
    local_image_group = _group()
    conf.register_group(local_image_group)
    conf.register_opts(local_image_opts, group=local_image_group)


def list_opts():
    local_image_group = _group()
    return {local_image_group: local_image_opts}

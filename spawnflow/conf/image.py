"""Image options: [local_image] (the ``local`` store), [http_image] (images
given as URLs) and the image cache's [DEFAULT] age limit (Nova's name)."""

from oslo_config import cfg


def _local_group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('local_image', title='Local image store')


def _http_group():
    return cfg.OptGroup('http_image',
                        title='Images given as http(s) URLs')


local_image_opts = [
    cfg.StrOpt('images_path', default='$state_path/images',
               help='Directory holding image data and metadata.'),
    cfg.IntOpt('image_size_cap', default=1099511627776, min=1,
               help='Largest image file, in bytes, that `image create` '
                    'takes (Glance\'s option; default 1 TiB).'),
]

http_image_opts = [
    cfg.IntOpt('timeout', default=60, min=1,
               help='Seconds to wait for an image server to accept the '
                    'connection, and then for each read of its answer. '
                    'A download may take longer as a whole, as long as '
                    'data keeps coming.'),
    cfg.IntOpt('num_retries', default=3, min=0,
               help='How many times a request to an image server that '
                    'failed transiently (connection refused or reset, '
                    'timeout, HTTP 5xx) is retried; a download starts '
                    'again from the first byte.'),
    cfg.StrOpt('cafile',
               help='PEM bundle of the certificate authorities that https '
                    'image servers are verified with. Default: the '
                    'system\'s.'),
]

image_cache_opts = [
    cfg.IntOpt('remove_unused_original_minimum_age_seconds',
               default=86400, min=0,
               help='Cached base images that no instance uses are removed '
                    'by `spawnflow image-cache clean` only once they have '
                    'not been used for this many seconds.'),
]


def register_opts(conf):
    local_image_group = _local_group()
    conf.register_group(local_image_group)
    conf.register_opts(local_image_opts, group=local_image_group)
    http_image_group = _http_group()
    conf.register_group(http_image_group)
    conf.register_opts(http_image_opts, group=http_image_group)
    conf.register_opts(image_cache_opts)


def list_opts():
    return {'DEFAULT': image_cache_opts,
            _local_group(): local_image_opts,
            _http_group(): http_image_opts}

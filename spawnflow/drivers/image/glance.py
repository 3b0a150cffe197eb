"""Image driver ``glance``: Glance v2 through python-glanceclient.

The image cache verifies what it downloads against ``os_hash_value``
(``os_hash_algo``, sha512 by default), or Glance's md5 ``checksum`` for
images that predate multihash, so glanceclient's own check is not repeated.
"""

from glanceclient import client as glance_client
from glanceclient import exc as glance_exceptions

from spawnflow.drivers.image import base
from spawnflow.drivers import keystone
from spawnflow import exception


def _image(resource):
    if resource.get('os_hash_algo') and resource.get('os_hash_value'):
        algo, value = resource['os_hash_algo'], resource['os_hash_value']
    else:
        algo, value = 'md5', resource.get('checksum')
    return {'id': resource['id'], 'name': resource.get('name'),
            'status': resource['status'],
            'disk_format': resource.get('disk_format'),
            'size': resource.get('size'),
            'virtual_size': resource.get('virtual_size'),
            'hash_algo': algo, 'hash_value': value}


class GlanceImageDriver(base.ImageDriver):
    def __init__(self, conf):
        kwargs = keystone.endpoint_kwargs(conf, 'glance')
        self._client = glance_client.Client(
            '2', session=keystone.session(conf, 'glance'),
            endpoint=kwargs.pop('endpoint_override'), **kwargs)

    def show(self, image_id):
        try:
            return _image(self._client.images.get(image_id))
        except glance_exceptions.HTTPNotFound:
            raise exception.ImageNotFound(image_id)

    def list(self):
        return [_image(image) for image in self._client.images.list()]

    def data(self, image_id):
        try:
            body = self._client.images.data(image_id, do_checksum=False)
        except glance_exceptions.HTTPNotFound:
            raise exception.ImageNotFound(image_id)
        if body is None:  # 204: the image has no data uploaded
            raise exception.ImageError('Image %s has no data.' % image_id)
        return iter(body)

"""Image driver ``glance``: Glance v2 through python-glanceclient.

The image cache verifies what it downloads against ``os_hash_value``
(``os_hash_algo``, sha512 by default), or Glance's md5 ``checksum`` for
images that predate multihash, so glanceclient's own check is not repeated.

Calls that fail transiently (no connection, a timeout, 5xx) are retried
``[glance] num_retries`` times; a download that breaks raises
ServiceUnavailable, and the cache downloads again.
"""

from glanceclient import exc as glance_exceptions
from glanceclient.v2 import client as glance_client
from keystoneauth1 import exceptions as ks_exceptions
import requests

from spawnflow.drivers import errors
from spawnflow.drivers.image import base
from spawnflow.drivers import keystone
from spawnflow import exception
from spawnflow import retry

SERVICE = 'Glance'


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


def _unit(what, function):
    """``function`` with glanceclient's and keystoneauth's errors
    translated: transient ones into ServiceUnavailable (to be retried),
    the others into ImageError, but for HTTPNotFound, which the callers
    handle."""
    def once():
        try:
            return function()
        except glance_exceptions.HTTPNotFound:
            raise
        except glance_exceptions.HTTPException as error:
            if error.code in errors.TRANSIENT_STATUS:
                raise exception.ServiceUnavailable(
                    SERVICE, '%s failed: %s' % (what, error)) from error
            raise exception.ImageError('Glance refused to %s: %s'
                                       % (what, error)) from error
        except (glance_exceptions.CommunicationError,
                glance_exceptions.InvalidEndpoint,
                requests.RequestException) as error:
            raise exception.ServiceUnavailable(
                SERVICE, 'cannot %s: %s' % (what, errors.reason(error))
            ) from error
        except ks_exceptions.ClientException as error:
            raise keystone.translated(SERVICE, what, error,
                                      exception.ImageError) from error
        except (KeyError, ValueError, TypeError) as error:
            # glanceclient reading an answer that is not what it expects.
            raise exception.ImageError(
                'Glance answered %s with what is not an Image v2 answer '
                '(%s: %s).' % (what, type(error).__name__, error)) from error
    return once


def _stream(image_id, chunks, timeout):
    """The image's chunks; a transfer that stalls or breaks raises
    ServiceUnavailable."""
    try:
        yield from chunks
    except requests.RequestException as error:
        raise exception.ServiceUnavailable(
            SERVICE, 'the transfer of image %s %s' % (
                image_id, errors.transfer_failure(error, timeout))
        ) from error


class GlanceImageDriver(base.ImageDriver):
    def __init__(self, conf):
        # Glance v2's client itself: glanceclient.Client's first argument
        # is the API's version, which is also the name of an adapter's.
        self._client = glance_client.Client(
            **keystone.client_kwargs(conf, 'glance'))
        self._timeout = conf.glance.timeout
        self.retry = retry.Policy.from_conf(conf, conf.glance.num_retries)

    def _call(self, what, function):
        return self.retry.call(what, _unit(what, function))

    def show(self, image_id):
        try:
            return _image(self._call('show image %s' % image_id,
                                     lambda: self._client.images.get(
                                         image_id)))
        except glance_exceptions.HTTPNotFound:
            raise exception.ImageNotFound(image_id)

    def list(self):
        return self._call('list images', lambda: [
            _image(image) for image in self._client.images.list()])

    def delete(self, image_id):
        """Delete the image; a no-op when it is gone (a retry whose first
        attempt's answer was lost)."""
        try:
            self._call('delete image %s' % image_id,
                       lambda: self._client.images.delete(image_id))
        except glance_exceptions.HTTPNotFound:
            pass

    def data(self, image_id):
        # Not retried here: the consumer retries the whole download.
        what = 'download image %s' % image_id
        try:
            body = _unit(what, lambda: self._client.images.data(
                image_id, do_checksum=False))()
        except glance_exceptions.HTTPNotFound:
            raise exception.ImageNotFound(image_id)
        # 204, the image has no data uploaded: glanceclient wraps the None
        # in a proxy carrying the request id.
        if getattr(body, 'wrapped', body) is None:
            raise exception.ImageError('Image %s has no data.' % image_id)
        return _stream(image_id, body, self._timeout)

"""The interface image drivers provide to the build flow and the cache."""

import abc

from spawnflow import exception
from spawnflow import retry


class ImageDriver(abc.ABC):
    """An image service: metadata and streamed data.

    ``show`` returns a dict with at least ``id``, ``name``, ``status``,
    ``disk_format``, ``size``, ``hash_algo`` and ``hash_value`` (hex digest
    the downloaded bytes must match). ``data`` is tried once: a request or
    a stream that fails transiently raises ServiceUnavailable, and
    consumers download again as ``retry`` says.
    """

    #: How calls and downloads are retried on transient failures.
    retry = retry.Policy(0, 0, 0)

    @abc.abstractmethod
    def show(self, image_id):
        """Image metadata; raises ImageNotFound."""

    @abc.abstractmethod
    def list(self):
        """All images' metadata."""

    @abc.abstractmethod
    def data(self, image_id):
        """An iterator of byte chunks; raises ImageNotFound."""

    def delete(self, image_id):
        """Delete the image; drivers of read-only sources refuse."""
        raise exception.InvalidRequest(
            'Images of the %s driver cannot be deleted here.'
            % type(self).__name__)

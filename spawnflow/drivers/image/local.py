"""Image driver ``local``: images as files in a directory, with JSON metadata.

Layout under ``[local_image] images_path``: ``<id>`` holds the data and
``<id>.json`` its metadata (written last, so an image exists only once its
data is complete).
"""

import datetime
import hashlib
import os
import uuid as uuidlib

from oslo_utils.imageutils import format_inspector
from oslo_utils import uuidutils

from spawnflow.drivers.image import base
from spawnflow import exception
from spawnflow import fileutils

CHUNK_SIZE = 1024 * 1024
DISK_FORMATS = ('raw', 'qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso')


class LocalImageDriver(base.ImageDriver):
    def __init__(self, conf):
        self.path = conf.local_image.images_path

    def _data_path(self, image_id):
        # Ids are uuids: anything else (a path, "../x") names no image.
        if not uuidutils.is_uuid_like(image_id):
            raise exception.ImageNotFound(image_id)
        return os.path.join(self.path, image_id)

    def _meta_path(self, image_id):
        return self._data_path(image_id) + '.json'

    def create(self, name, file_path, disk_format):
        """Copy ``file_path`` into the store and return its metadata.

        The file's real format must be ``disk_format`` and pass the format
        inspector's safety checks (no backing file, no qcow2 data file).
        """
        if disk_format not in DISK_FORMATS:
            raise exception.InvalidRequest(
                'Disk format must be one of %s, not %r.'
                % (', '.join(DISK_FORMATS), disk_format))
        try:
            inspector = format_inspector.detect_file_format(file_path)
        except OSError as error:
            raise exception.InvalidRequest('Cannot read %s: %s'
                                           % (file_path, error.strerror))
        except format_inspector.ImageFormatError as error:
            raise exception.InvalidRequest('%s is not a usable image: %s'
                                           % (file_path, error))
        if inspector.NAME != disk_format:
            raise exception.InvalidRequest(
                '%s is a %s image, not %s.'
                % (file_path, inspector.NAME, disk_format))
        try:
            inspector.safety_check()
        except format_inspector.SafetyCheckFailed as error:
            raise exception.InvalidRequest('%s is refused: %s'
                                           % (file_path, error))
        os.makedirs(self.path, exist_ok=True)
        image_id = str(uuidlib.uuid4())
        digest = hashlib.sha256()
        with open(file_path, 'rb') as source, \
                fileutils.atomic_file(self._data_path(image_id)) as target:
            for chunk in iter(lambda: source.read(CHUNK_SIZE), b''):
                digest.update(chunk)
                target.write(chunk)
        record = {
            'id': image_id, 'name': name, 'status': 'active',
            'disk_format': disk_format,
            'size': os.path.getsize(self._data_path(image_id)),
            'virtual_size': inspector.virtual_size,
            'hash_algo': 'sha256', 'hash_value': digest.hexdigest(),
            'created_at': datetime.datetime.now(
                datetime.timezone.utc).isoformat(timespec='seconds'),
        }
        fileutils.write_json(self._meta_path(image_id), record)
        return record

    def show(self, image_id):
        try:
            return fileutils.read_json(self._meta_path(image_id))
        except (FileNotFoundError, NotADirectoryError):
            raise exception.ImageNotFound(image_id)

    def list(self):
        if not os.path.isdir(self.path):
            return []
        return sorted((fileutils.read_json(os.path.join(self.path, name))
                       for name in os.listdir(self.path)
                       if name.endswith('.json')),
                      key=lambda image: image['created_at'])

    def data(self, image_id):
        self.show(image_id)
        try:
            stream = open(self._data_path(image_id), 'rb')
        except FileNotFoundError:
            raise exception.ImageNotFound(image_id)
        return _chunks(stream)

    def delete(self, image_id):
        """Remove an image: metadata first, so it never half-exists."""
        fileutils.remove(self._meta_path(image_id))
        fileutils.remove(self._data_path(image_id))

    def path_of(self, image_id):
        """Where the data lives (tests corrupt images through this)."""
        return self._data_path(image_id)


def _chunks(stream):
    with stream:
        yield from iter(lambda: stream.read(CHUNK_SIZE), b'')

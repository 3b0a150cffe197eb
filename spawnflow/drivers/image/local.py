"""Image driver ``local``: images as files in a directory, with JSON metadata.

Layout under ``[local_image] images_path``: ``<id>`` holds the data and
``<id>.json`` its metadata (written last, so an image exists only once its
data is complete).
"""

import contextlib
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
SECTOR_SIZE = 512
DISK_FORMATS = ('raw', 'qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso')


class LocalImageDriver(base.ImageDriver):
    def __init__(self, conf):
        self.path = conf.local_image.images_path
        self._size_cap = conf.local_image.image_size_cap

    def _data_path(self, image_id):
        # Ids are uuids: anything else (a path, "../x") names no image.
        if not uuidutils.is_uuid_like(image_id):
            raise exception.ImageNotFound(image_id)
        return os.path.join(self.path, image_id)

    def _meta_path(self, image_id):
        return self._data_path(image_id) + '.json'

    def create(self, name, file_path, disk_format):
        """Copy ``file_path`` into the store and return its metadata.

        It must be a regular file of at most ``image_size_cap`` bytes, its
        real format must be ``disk_format`` and pass the format
        inspector's safety checks (no backing file, no qcow2 data file),
        and a raw disk must be a whole number of sectors. The checks run
        on the copy, so what is checked is what is stored.
        """
        if disk_format not in DISK_FORMATS:
            raise exception.InvalidRequest(
                'Disk format must be one of %s, not %r.'
                % (', '.join(DISK_FORMATS), disk_format))
        os.makedirs(self.path, exist_ok=True)
        image_id = str(uuidlib.uuid4())
        digest = hashlib.sha256()
        with _open_image_file(file_path, self._size_cap) as (source, size), \
                fileutils.atomic_file(self._data_path(image_id)) as target:
            copied = 0
            for chunk in iter(lambda: source.read(CHUNK_SIZE), b''):
                copied += len(chunk)
                if copied > size:
                    raise exception.InvalidRequest(
                        '%s grew while it was read; give a file that does '
                        'not change.' % file_path)
                digest.update(chunk)
                target.write(chunk)
            target.flush()
            inspector = _checked_format(file_path, target.name, disk_format)
        record = {
            'id': image_id, 'name': name, 'status': 'active',
            'disk_format': disk_format, 'size': copied,
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


@contextlib.contextmanager
def _open_image_file(path, size_cap):
    """Yield (binary stream, size) of ``path``, a regular file of 1 to
    ``size_cap`` bytes; devices, pipes, directories and files that claim
    no size (such as /proc's) are refused before a byte is read."""
    try:
        stream, info = fileutils.open_regular_file(path)
    except fileutils.NotRegularFile as error:
        raise exception.InvalidRequest(
            '%s is not a regular file (it is a %s); give an image file.'
            % (path, error.kind))
    except OSError as error:
        raise exception.InvalidRequest('Cannot read %s: %s'
                                       % (path, error.strerror))
    with stream:
        if info.st_size == 0:
            raise exception.InvalidRequest(
                '%s has no size (it is empty, or a file like /proc\'s); '
                'give an image file.' % path)
        if info.st_size > size_cap:
            raise exception.InvalidRequest(
                '%s is %d bytes; images of at most %d bytes are taken '
                '([local_image] image_size_cap).'
                % (path, info.st_size, size_cap))
        yield stream, info.st_size


def _checked_format(path, copy, disk_format):
    """The format inspector of ``copy`` (of ``path``), which must be
    ``disk_format``, pass the safety checks, and, raw, be whole sectors."""
    try:
        inspector = format_inspector.detect_file_format(copy)
    except format_inspector.ImageFormatError as error:
        raise exception.InvalidRequest('%s is not a usable image: %s'
                                       % (path, error))
    # A raw disk holding a partition table is detected as gpt.
    detected = 'raw' if inspector.NAME == 'gpt' else inspector.NAME
    if detected != disk_format:
        raise exception.InvalidRequest(
            '%s is a %s image, not %s.' % (path, inspector.NAME, disk_format))
    try:
        inspector.safety_check()
    except format_inspector.SafetyCheckFailed as error:
        raise exception.InvalidRequest('%s is refused: %s' % (path, error))
    size = os.path.getsize(copy)
    if disk_format == 'raw' and size % SECTOR_SIZE:
        raise exception.InvalidRequest(
            '%s is not a raw disk image: its %d bytes are not a whole '
            'number of %d-byte sectors.' % (path, size, SECTOR_SIZE))
    return inspector


def _chunks(stream):
    with stream:
        yield from iter(lambda: stream.read(CHUNK_SIZE), b'')

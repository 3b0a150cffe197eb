"""The image cache: one verified base file per image under ``_base/``.

As in Nova's libvirt driver, a base is named by the SHA-1 of the image id,
fetched once under a per-image lock, and written through a temporary file
that is renamed only after the checksum and the format check pass. Each
instance's root disk is a qcow2 overlay on it.
"""

import hashlib
import os

from oslo_concurrency import lockutils
from oslo_utils.imageutils import format_inspector

from spawnflow import exception
from spawnflow import fileutils


class ImageCache:
    def __init__(self, instances_path, image_driver):
        self.base_dir = os.path.join(instances_path, '_base')
        self._lock_dir = os.path.join(instances_path, 'locks')
        self._driver = image_driver

    def base_path(self, image_id):
        return os.path.join(self.base_dir,
                            hashlib.sha1(image_id.encode()).hexdigest())

    def _lock(self, image_id):
        return lockutils.lock('image-' + image_id,
                              lock_file_prefix='spawnflow-',
                              external=True, lock_path=self._lock_dir)

    def fetch(self, image_id):
        """Return (path, downloaded): the verified base, fetched if missing.

        ``downloaded`` tells whether this call made the file, so a revert
        removes only what its own build added.
        """
        image = self._driver.show(image_id)
        if image['status'] != 'active':
            raise exception.ImageError('Image %s is %s, not active.'
                                       % (image_id, image['status']))
        path = self.base_path(image_id)
        with self._lock(image_id):
            if os.path.exists(path):
                os.utime(path)
                return path, False
            os.makedirs(self.base_dir, exist_ok=True)
            self._download(image, path)
        return path, True

    def _download(self, image, path):
        digest = hashlib.new(image['hash_algo'])
        with fileutils.atomic_file(path) as target:
            for chunk in self._driver.data(image['id']):
                digest.update(chunk)
                target.write(chunk)
            target.flush()
            if digest.hexdigest() != image['hash_value']:
                raise exception.ImageChecksumMismatch(
                    image['id'], image['hash_value'], digest.hexdigest())
            _check_format(image, target.name)

    def remove(self, image_id):
        """Remove the image's base file (a no-op when there is none)."""
        with self._lock(image_id):
            return fileutils.remove(self.base_path(image_id))

    def list(self):
        """[{'path', 'size', 'last_used'}] for every cached base."""
        if not os.path.isdir(self.base_dir):
            return []
        entries = []
        for name in sorted(os.listdir(self.base_dir)):
            path = os.path.join(self.base_dir, name)
            if name.startswith('.') or not os.path.isfile(path):
                continue
            stat = os.stat(path)
            entries.append({'path': path, 'size': stat.st_size,
                            'last_used': stat.st_mtime})
        return entries


def _check_format(image, path):
    """The data must be what ``disk_format`` says, with no unsafe features."""
    try:
        inspector = format_inspector.detect_file_format(path)
        if inspector.NAME != image['disk_format']:
            raise exception.ImageError(
                'Image %s claims disk_format %s but its data is %s.'
                % (image['id'], image['disk_format'], inspector.NAME))
        inspector.safety_check()
    except (format_inspector.ImageFormatError,
            format_inspector.SafetyCheckFailed) as error:
        raise exception.ImageError('Image %s is refused: %s'
                                   % (image['id'], error))

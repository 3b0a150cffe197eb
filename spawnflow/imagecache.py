"""The image cache: one verified base file per image under ``_base/``.

As in Nova's libvirt driver, a base is named by the SHA-1 of the image id,
fetched once under a per-image lock, and written through a temporary file
that is renamed only after the checksum and the format check pass. Each
instance's root disk is a qcow2 overlay on it.

A base's mtime is when it was last used (``fetch`` touches it). Bases no
live instance uses are removed by ``clean`` once they are old enough, as
Nova's image cache manager does. Beside each base, ``.<name>.image`` names
its image, so listing the cache asks the database about the cached images'
live users only, not every image its history names.

Whatever an image service says, the data is held to what the build needs:
a download stops once it passes ``max_download_bytes`` of the disk it is
for, its digest is computed as it streams (in a thread of its own, with
the writes: hashlib and the file release the GIL, so hashing runs while
the next chunk is read), and the whole file's format and virtual size are
checked before it becomes a base. A download that
fails transiently starts again, as the image driver's retry policy says.
"""

import collections
import concurrent.futures
import contextlib
import glob
import hashlib
import os
import stat
import time

from oslo_concurrency import lockutils
from oslo_utils.imageutils import format_inspector

from spawnflow import exception
from spawnflow import fileutils

MiB = 1024 ** 2
#: Chunks read ahead of the digest and the writes, at most.
CHUNKS_AHEAD = 4
#: The records beside a base (``.<name>.<kind>``): the instance whose fetch
#: downloaded it, and its image.
OWNER, IMAGE = 'owner', 'image'


def max_download_bytes(max_virtual_size):
    """The most bytes an image for a disk of ``max_virtual_size`` may take:
    the disk itself, plus room for a format's metadata (a fully allocated
    qcow2 carries about 0.2% of tables)."""
    return max_virtual_size + max_virtual_size // 16 + 64 * MiB


class ImageCache:
    def __init__(self, instances_path, image_driver):
        self.base_dir = os.path.join(instances_path, '_base')
        self._lock_dir = os.path.join(instances_path, 'locks')
        self._driver = image_driver

    def base_path(self, image_id):
        return os.path.join(self.base_dir, _base_name(image_id))

    def _lock(self, image_id):
        return lockutils.lock('image-' + image_id,
                              lock_file_prefix='spawnflow-',
                              external=True, lock_path=self._lock_dir)

    def fetch(self, image_id, max_virtual_size, progress=None, owner=None):
        """Return (path, downloaded): the verified base, fetched if missing.

        The base must fit a disk of ``max_virtual_size`` bytes (a cached
        one too: another build may have fetched it for a larger disk).
        ``downloaded`` tells whether this call made the file. ``owner`` (an
        instance uuid) is recorded before a download starts, so the
        instance's revert can remove what it fetched even when a crash lost
        the ``downloaded`` answer. ``progress(done, total)`` is called as
        bytes arrive (``total`` may be None).
        """
        image = self._driver.show(image_id)
        if image['status'] != 'active':
            raise exception.ImageError('Image %s is %s, not active.'
                                       % (image_id, image['status']))
        path = self.base_path(image_id)
        with self._lock(image_id):
            if os.path.exists(path):
                check_format(image, path, max_virtual_size)
                if _read_record(path, IMAGE) != image_id:
                    _write_record(path, IMAGE, image_id)  # cached before it
                os.utime(path)
                return path, False
            os.makedirs(self.base_dir, exist_ok=True)
            _write_record(path, IMAGE, image_id)
            if owner:
                _write_record(path, OWNER, owner)
            try:
                self._driver.retry_policy(image_id).call(
                    'download of image %s' % image_id, self._download, image,
                    path, max_virtual_size, progress)
            except Exception:
                fileutils.remove(_record(path, IMAGE))
                raise
        return path, True

    def _download(self, image, path, max_virtual_size, progress):
        with fileutils.atomic_file(path) as target:
            write_verified(image, self._driver.data(image['id']), target,
                           max_download_bytes(max_virtual_size), progress)
            target.flush()
            check_format(image, target.name, max_virtual_size)

    def remove(self, image_id, owner=None):
        """Remove the image's base and any partial download of it left by
        a killed fetch (a no-op when there is none); with ``owner``, only
        if that instance's fetch downloaded it. The owner record goes last,
        so a remove killed halfway is finished by the next."""
        with self._lock(image_id):
            if owner is not None and self.owner(image_id) != owner:
                return False
            path = self.base_path(image_id)
            removed = fileutils.remove(path)
            for partial in _partials(os.path.basename(path), self.base_dir):
                fileutils.remove(partial)
            fileutils.remove(_record(path, IMAGE))
            fileutils.remove(_record(path, OWNER))
            return removed

    def owner(self, image_id):
        """The instance whose fetch downloaded the base, if recorded."""
        return _read_record(self.base_path(image_id), OWNER)

    def partial_downloads(self):
        """[(path, owner)] of every partial download in the cache, with the
        instance whose fetch made it (None when not recorded)."""
        return [(path, _read_record(os.path.join(
                    self.base_dir, os.path.basename(path)[1:].split('.')[0]),
                    OWNER))
                for path in _partials('*', self.base_dir)]

    def list(self):
        """[{'path', 'size', 'last_used'}] for every cached base."""
        if not os.path.isdir(self.base_dir):
            return []
        entries = []
        for name in sorted(os.listdir(self.base_dir)):
            path = os.path.join(self.base_dir, name)
            if name.startswith('.'):
                continue
            try:
                info = os.stat(path)
            except FileNotFoundError:  # removed meanwhile
                continue
            if stat.S_ISREG(info.st_mode):
                entries.append({'path': path, 'size': info.st_size,
                                'last_used': info.st_mtime})
        return entries

    def entries(self, db):
        """list() with each base's ``image_id`` and ``in_use`` (live
        instances, as ``db`` says). The image is the one recorded beside
        the base; for a base cached before the record, the one of those
        the database names (deleted instances' too) that hashes to its
        name, if any (else None)."""
        listed = [dict(entry, image_id=_read_record(entry['path'], IMAGE))
                  for entry in self.list()]
        if any(entry['image_id'] is None for entry in listed):
            names = {_base_name(image_id): image_id
                     for image_id in db.image_ids()}
            for entry in listed:
                if entry['image_id'] is None:
                    entry['image_id'] = names.get(
                        os.path.basename(entry['path']))
        users = db.image_users({entry['image_id'] for entry in listed}
                               - {None})
        for entry in listed:
            entry['in_use'] = users.get(entry['image_id'], 0)
        return listed

    def clean(self, db, min_age, dry_run=False):
        """Remove the bases no live instance uses and that were not used
        for ``min_age`` seconds; return their entries (what would be
        removed, with ``dry_run``).

        A base of a known image is removed under the image's lock, after
        its age and its users are checked again: a fetch either finds the
        base whole (and touches it, which keeps it) or fetches it anew.
        """
        removed = []
        for entry in self.entries(db):
            if entry['in_use'] or not _unused_for(entry['path'], min_age):
                continue
            if dry_run or self._remove_unused(entry, db, min_age):
                removed.append(entry)
        return removed

    def _remove_unused(self, entry, db, min_age):
        image_id = entry['image_id']
        lock = (self._lock(image_id) if image_id is not None
                else contextlib.nullcontext())
        with lock:
            if not _unused_for(entry['path'], min_age):
                return False
            if image_id is not None and db.image_users([image_id]):
                return False
            removed = fileutils.remove(entry['path'])
            fileutils.remove(_record(entry['path'], IMAGE))
            fileutils.remove(_record(entry['path'], OWNER))
            return removed


def _record(base_path, kind):
    """Where ``kind`` (OWNER or IMAGE) of ``base_path`` is recorded."""
    directory, name = os.path.split(base_path)
    return os.path.join(directory, '.%s.%s' % (name, kind))


def _write_record(base_path, kind, value):
    with fileutils.atomic_file(_record(base_path, kind), 'w') as record:
        record.write(value)


def _read_record(base_path, kind):
    """What is recorded as ``kind`` of ``base_path``, if anything."""
    try:
        with open(_record(base_path, kind)) as record:
            return record.read()
    except FileNotFoundError:
        return None


def _partials(base_name, base_dir):
    """Partial downloads of the base(s) named ``base_name`` (a glob):
    fileutils.atomic_file's ``.<name>.<random>.part``."""
    return glob.glob(os.path.join(base_dir, '.%s.*.part' % base_name))


def _base_name(image_id):
    return hashlib.sha1(image_id.encode()).hexdigest()


def _unused_for(path, seconds):
    """True when ``path`` exists and was not touched for ``seconds``."""
    try:
        return time.time() - os.stat(path).st_mtime >= seconds
    except FileNotFoundError:
        return False


def qemu_format(disk_format):
    """qemu-img's name for a Glance disk_format (vhd is vpc, iso is raw)."""
    return {'vhd': 'vpc', 'iso': 'raw'}.get(disk_format, disk_format)


def write_verified(image, chunks, stream, max_bytes, progress=None):
    """Write the image's ``chunks`` to ``stream``, computing their digest
    as they come; refuse an image that says it is, or turns out to be,
    larger than ``max_bytes``, and one whose digest is not the image's.

    The digest and the writes run in a thread of their own, in order, at
    most CHUNKS_AHEAD chunks behind the reads; the first error of either
    side ends the whole, after the writes already handed over are done.
    """
    if image.get('size') is not None and image['size'] > max_bytes:
        raise exception.ImageError(
            'Image %s is %d bytes; the disk it is for takes at most %d.'
            % (image['id'], image['size'], max_bytes))
    digest = hashlib.new(image['hash_algo'])

    def consume(chunk):
        digest.update(chunk)
        stream.write(chunk)
    done = 0
    pending = collections.deque()
    with concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix='spawnflow-digest') as writer:
        for chunk in chunks:
            done += len(chunk)
            if done > max_bytes:
                raise exception.ImageError(
                    'Image %s sent more than %d bytes, more than the disk it '
                    'is for takes.' % (image['id'], max_bytes))
            pending.append(writer.submit(consume, chunk))
            if len(pending) > CHUNKS_AHEAD:
                pending.popleft().result()
            if progress:
                progress(done, image.get('size'))
        for written in pending:
            written.result()
    if digest.hexdigest() != image['hash_value']:
        raise exception.ImageChecksumMismatch(
            image['id'], image['hash_algo'], image['hash_value'],
            digest.hexdigest())


def check_format(image, path, max_virtual_size):
    """The data must be what ``disk_format`` says, with no unsafe features,
    and fit a disk of ``max_virtual_size`` bytes."""
    try:
        inspector = format_inspector.detect_file_format(path)
        # A raw disk holding a partition table is detected as gpt.
        detected = 'raw' if inspector.NAME == 'gpt' else inspector.NAME
        if detected != image['disk_format']:
            raise exception.ImageError(
                'Image %s claims disk_format %s but its data is %s.'
                % (image['id'], image['disk_format'], inspector.NAME))
        inspector.safety_check()
    except (format_inspector.ImageFormatError,
            format_inspector.SafetyCheckFailed) as error:
        raise exception.ImageError('Image %s is refused: %s'
                                   % (image['id'], error))
    if inspector.virtual_size > max_virtual_size:
        raise exception.ImageError(
            'Image %s needs a disk of %d bytes; this one has %d.'
            % (image['id'], inspector.virtual_size, max_virtual_size))

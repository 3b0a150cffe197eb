"""Volume driver ``local``: volumes as qcow2 files made with qemu-img.

Layout under ``[local_volume] volumes_path``: ``<id>.qcow2`` (data) and
``<id>.json`` (name, status, size, metadata, attachments);
``snapshots/<id>.qcow2`` and ``snapshots/<id>.json`` for snapshots. Records
are rewritten atomically under a per-volume lock.

The process creating a volume holds ``locks/create-<id>`` (flock) until the
volume is available; a volume still ``creating`` whose lock nobody holds
was interrupted (its process died) and reads as ``error``, as Cinder sets
such volumes when its volume service restarts. Temporary files of a volume
are named ``.<id>.*``; deleting the volume removes them.
"""

import contextlib
import datetime
import fcntl
import glob
import os
import tempfile
import uuid as uuidlib

from oslo_concurrency import lockutils
from oslo_utils import uuidutils

from spawnflow.drivers.volume import base
from spawnflow import exception
from spawnflow import fileutils
from spawnflow import imagecache
from spawnflow import qemu_img

GiB = 1024 ** 3
#: qemu-img's largest qcow2 (64 KiB clusters): 2 PiB.
MAX_QCOW2_GB = 2 ** 21


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec='seconds')


def _qemu_img(*args):
    try:
        qemu_img.run(*args)
    except qemu_img.Failed as error:
        raise exception.VolumeError('qemu-img %s failed: %s'
                                    % (args[0], error))


class LocalVolumeDriver(base.VolumeDriver):
    def __init__(self, conf, image_driver):
        self.path = conf.local_volume.volumes_path
        self.snapshot_path = os.path.join(self.path, 'snapshots')
        self._image_driver = image_driver

    # Records --------------------------------------------------------------

    def _file(self, resource_id, suffix, directory=None):
        return os.path.join(directory or self.path, resource_id + suffix)

    def _read(self, volume_id):
        # Ids are uuids: anything else (a path, "../x") names no volume.
        if not uuidutils.is_uuid_like(volume_id):
            raise exception.VolumeNotFound(volume_id)
        try:
            return fileutils.read_json(self._file(volume_id, '.json'))
        except FileNotFoundError:
            raise exception.VolumeNotFound(volume_id)

    def _write(self, record):
        fileutils.write_json(self._file(record['id'], '.json'), record)

    @contextlib.contextmanager
    def _locked(self, volume_id):
        """Yield the volume's record; what the block changes is saved."""
        with lockutils.lock('volume-' + volume_id,
                            lock_file_prefix='spawnflow-', external=True,
                            lock_path=os.path.join(self.path, 'locks')):
            record = self._read(volume_id)
            yield record
            self._write(record)

    # Volumes -------------------------------------------------------------

    def limits(self):
        """Volumes are sparse qcow2 files: only the format bounds them."""
        return {'max_volume_gb': MAX_QCOW2_GB, 'free_gb': None,
                'free_volumes': None}

    def create(self, name, size_gb, metadata, image_id=None,
               snapshot_id=None):
        """Make the volume file; the record says ``creating`` until done."""
        volume_id = str(uuidlib.uuid4())
        with self._creating(volume_id):
            record = {'id': volume_id, 'name': name,
                      'status': 'creating', 'size': size_gb,
                      'metadata': dict(metadata), 'attachments': [],
                      'image_id': image_id, 'snapshot_id': snapshot_id,
                      'created_at': _now()}
            self._write(record)
            target = self._file(volume_id, '.qcow2')
            try:
                if snapshot_id:
                    self._copy(self._snapshot(snapshot_id)['path'], 'qcow2',
                               target, size_gb)
                elif image_id:
                    self._from_image(volume_id, image_id, target, size_gb)
                else:
                    with fileutils.atomic_file(target) as part:
                        _qemu_img('create', '-q', '-f', 'qcow2', part.name,
                                  str(size_gb * GiB))
            except exception.SpawnflowError as error:
                with self._locked(volume_id) as current:
                    current['status'] = 'error'
                    current['error'] = str(error)
                raise
            with self._locked(volume_id) as current:
                current['status'] = 'available'
                current['path'] = target
        return self.get(volume_id)

    def _creation_lock_file(self, volume_id):
        return os.path.join(self.path, 'locks', 'create-' + volume_id)

    @contextlib.contextmanager
    def _creating(self, volume_id):
        """Hold the volume's creation lock (released if the process dies)."""
        path = self._creation_lock_file(volume_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fileutils.remove(path)

    def _creation_interrupted(self, volume_id):
        """Whether a ``creating`` volume has no live process creating it."""
        try:
            with open(self._creation_lock_file(volume_id)) as lock:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its creator holds the lock
        except FileNotFoundError:
            pass  # creation just ended (the record tells how) or died
        return self._read(volume_id)['status'] == 'creating'

    def _copy(self, source, source_format, target, size_gb):
        """Convert ``source`` into a qcow2 at ``target`` of ``size_gb``."""
        with fileutils.atomic_file(target) as part:
            _qemu_img('convert', '-q', '-f', source_format, '-O', 'qcow2',
                      source, part.name)
            if size_gb:
                _qemu_img('resize', '-q', '-f', 'qcow2', part.name,
                          str(size_gb * GiB))

    def _from_image(self, volume_id, image_id, target, size_gb):
        image = self._image_driver.show(image_id)
        self._image_driver.retry_policy(image_id).call(
            'download of image %s' % image_id, self._convert_image, image,
            volume_id, target, size_gb)

    def _convert_image(self, image, volume_id, target, size_gb):
        """Download the image (verified as the cache does) and convert it
        into the volume's file."""
        with tempfile.NamedTemporaryFile(
                dir=self.path, prefix='.%s.image-' % volume_id) as data:
            imagecache.write_verified(
                image, self._image_driver.data(image['id']), data,
                imagecache.max_download_bytes(size_gb * GiB))
            data.flush()
            imagecache.check_format(image, data.name, size_gb * GiB)
            self._copy(data.name, imagecache.qemu_format(image['disk_format']),
                       target, size_gb)

    def find(self, metadata):
        """The oldest volume with ``metadata``, leaving out one that a live
        process is still creating: only an owner that lost its flow can be
        (paused, it still holds the creation lock), and it deletes that
        volume when it learns so; a new owner waiting on it would wait for
        as long as that process stays paused."""
        found = [v for v in self.list()
                 if v['status'] != 'creating'
                 and all(v['metadata'].get(k) == value
                         for k, value in metadata.items())]
        found.sort(key=lambda v: (v['created_at'], v['id']))
        return found[0] if found else None

    def get(self, volume_id):
        record = self._read(volume_id)
        if record['status'] == 'available' and not os.path.exists(
                record.get('path', '')):
            record['status'] = 'error'
            record['error'] = 'volume file is missing'
        elif record['status'] == 'creating' and self._creation_interrupted(
                volume_id):
            record['status'] = 'error'
            record['error'] = 'creation interrupted: its process stopped'
        return record

    def list(self):
        """Every volume's record; one deleted between the listing and
        its read (a parallel revert's) is left out."""
        if not os.path.isdir(self.path):
            return []
        found = []
        for name in sorted(os.listdir(self.path)):
            if name.endswith('.json'):
                try:
                    found.append(self.get(name[:-len('.json')]))
                except exception.VolumeNotFound:
                    continue
        return found

    def delete(self, volume_id):
        """Remove the volume's data, then its record."""
        try:
            record = self._read(volume_id)
        except exception.VolumeNotFound:
            return
        if record['attachments']:
            raise exception.VolumeError(
                'Volume %s is attached and cannot be deleted.' % volume_id)
        fileutils.remove(self._file(volume_id, '.qcow2'))
        for temporary in glob.glob(os.path.join(self.path,
                                                '.%s.*' % volume_id)):
            fileutils.remove(temporary)
        fileutils.remove(self._creation_lock_file(volume_id))
        fileutils.remove(self._file(volume_id, '.json'))

    # Attachments ---------------------------------------------------------

    def attachment_create(self, volume_id, instance_uuid, connector):
        with self._locked(volume_id) as record:
            if record['status'] not in ('available', 'in-use'):
                raise exception.VolumeError(
                    'Volume %s is %s and cannot be attached.'
                    % (volume_id, record['status']))
            attachment = {'id': str(uuidlib.uuid4()),
                          'instance_uuid': instance_uuid,
                          'connector': connector, 'status': 'reserved'}
            record['attachments'].append(attachment)
            record['status'] = _attached_status(record)
        return {'id': attachment['id'], 'connection_info': {
            'driver_volume_type': 'file',
            'data': {'device_path': record['path'], 'format': 'qcow2',
                     'volume_id': volume_id}}}

    def attachment_complete(self, attachment_id):
        volume_id = self._volume_of(attachment_id)
        with self._locked(volume_id) as record:
            for attachment in record['attachments']:
                if attachment['id'] == attachment_id:
                    attachment['status'] = 'attached'
            record['status'] = _attached_status(record)

    def attachment_find(self, volume_id, instance_uuid):
        try:
            record = self._read(volume_id)
        except exception.VolumeNotFound:
            return None
        for attachment in record['attachments']:
            if attachment['instance_uuid'] == instance_uuid:
                return attachment
        return None

    def attachment_delete(self, attachment_id):
        volume_id = self._volume_of(attachment_id)
        if volume_id is None:
            return
        with self._locked(volume_id) as record:
            record['attachments'] = [a for a in record['attachments']
                                     if a['id'] != attachment_id]
            record['status'] = _attached_status(record)

    def _volume_of(self, attachment_id):
        for volume in self.list():
            if any(a['id'] == attachment_id for a in volume['attachments']):
                return volume['id']
        return None

    # Snapshots -------------------------------------------------------------

    def snapshot_create(self, volume_id, name):
        """Copy the volume into a snapshot (for snapshot->volume)."""
        volume = self.get(volume_id)
        os.makedirs(self.snapshot_path, exist_ok=True)
        snapshot_id = str(uuidlib.uuid4())
        target = self._file(snapshot_id, '.qcow2', self.snapshot_path)
        self._copy(volume['path'], 'qcow2', target, None)
        record = {'id': snapshot_id, 'name': name, 'volume_id': volume_id,
                  'size': volume['size'], 'status': 'available',
                  'path': target, 'created_at': _now()}
        fileutils.write_json(self._file(snapshot_id, '.json',
                                        self.snapshot_path), record)
        return record

    def _snapshot(self, snapshot_id):
        if not uuidutils.is_uuid_like(snapshot_id):
            raise exception.SnapshotNotFound(snapshot_id)
        try:
            record = fileutils.read_json(
                self._file(snapshot_id, '.json', self.snapshot_path))
        except FileNotFoundError:
            raise exception.SnapshotNotFound(snapshot_id)
        if not os.path.exists(record['path']):
            raise exception.VolumeError('Snapshot %s has no data at %s.'
                                        % (snapshot_id, record['path']))
        return record

    def snapshot_get(self, snapshot_id):
        return self._snapshot(snapshot_id)

    def snapshot_list(self):
        """Every snapshot's record, oldest first."""
        if not os.path.isdir(self.snapshot_path):
            return []
        return sorted((fileutils.read_json(os.path.join(self.snapshot_path,
                                                        name))
                       for name in os.listdir(self.snapshot_path)
                       if name.endswith('.json')),
                      key=lambda snapshot: (snapshot['created_at'],
                                            snapshot['id']))

    def snapshot_delete(self, snapshot_id):
        if not uuidutils.is_uuid_like(snapshot_id):
            raise exception.SnapshotNotFound(snapshot_id)
        fileutils.remove(self._file(snapshot_id, '.qcow2',
                                    self.snapshot_path))
        fileutils.remove(self._file(snapshot_id, '.json',
                                    self.snapshot_path))


def _attached_status(record):
    """The volume's status as its attachments make it, as Cinder's:
    in-use while one is attached, attaching while one is only reserved."""
    statuses = {a['status'] for a in record['attachments']}
    if 'attached' in statuses:
        return 'in-use'
    return 'attaching' if statuses else 'available'

"""The interface volume drivers provide to the build and delete flows.

Volumes are dicts with at least ``id``, ``name``, ``status``, ``size`` and
``metadata``. A volume made for a block device carries the metadata keys
below, so a task re-run after a crash finds the volume it made, and orphan
reaping touches only the volumes of its own deployment.
"""

import abc
import contextlib
import dataclasses
import time

DEPLOYMENT_KEY = 'spawnflow_deployment'
INSTANCE_KEY = 'spawnflow_instance_uuid'
BDM_INDEX_KEY = 'spawnflow_bdm_index'


def volume_name(instance_uuid, bdm_index):
    return 'spawnflow-%s-%d' % (instance_uuid, bdm_index)


def volume_metadata(deployment, instance_uuid, bdm_index):
    return {DEPLOYMENT_KEY: deployment, INSTANCE_KEY: instance_uuid,
            BDM_INDEX_KEY: str(bdm_index)}


@dataclasses.dataclass(frozen=True)
class Watch:
    sleep: object
    notified: bool


class VolumeDriver(abc.ABC):

    @contextlib.contextmanager
    def watch(self, volume_id):
        """Yield a Watch for a wait on this volume's status: its ``sleep``
        returns early, and ``notified`` is true, when the driver hears
        about the volume's changes."""
        yield Watch(sleep=time.sleep, notified=False)

    def close(self):
        """Release what the driver holds (connections, listeners)."""

    @abc.abstractmethod
    def limits(self):
        """{'max_volume_gb': the largest volume the service makes,
        'free_gb' and 'free_volumes': what the quota leaves}; None where
        there is no limit."""

    @abc.abstractmethod
    def create(self, name, size_gb, metadata, image_id=None,
               snapshot_id=None):
        """Start creating a volume (blank, from an image or a snapshot)."""

    @abc.abstractmethod
    def find(self, metadata):
        """The oldest volume carrying ``metadata`` (and not being deleted),
        or None."""

    @abc.abstractmethod
    def get(self, volume_id):
        """The volume; raises VolumeNotFound."""

    @abc.abstractmethod
    def list(self):
        """All volumes."""

    @abc.abstractmethod
    def delete(self, volume_id):
        """Delete the volume; a no-op when it is already gone."""

    @abc.abstractmethod
    def attachment_create(self, volume_id, instance_uuid, connector):
        """Attach: returns {'id', 'connection_info'} and, when the
        connection has secrets (a CHAP password), 'secrets': the keys
        connection_info goes without, never to be stored."""

    @abc.abstractmethod
    def attachment_complete(self, attachment_id):
        """Mark the attachment done: the volume is in-use."""

    @abc.abstractmethod
    def attachment_find(self, volume_id, instance_uuid):
        """The attachment of ``volume_id`` to the instance, or None."""

    @abc.abstractmethod
    def attachment_delete(self, attachment_id):
        """Detach; a no-op when the attachment is already gone."""

    @abc.abstractmethod
    def snapshot_get(self, snapshot_id):
        """The snapshot; raises SnapshotNotFound."""

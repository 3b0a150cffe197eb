"""Root disk tasks: fetch the image into the cache, make the overlay.

Also the instance-files cleanup the delete flow runs.
"""

from spawnflow import exception
from spawnflow import imagecache
from spawnflow import progress
from spawnflow.tasks import base

GiB = 1024 ** 3


def _root_bdm(services, instance_uuid):
    for bdm in services.db.bdm_list(instance_uuid):
        if bdm['destination_type'] == 'local':
            return bdm
    raise exception.SpawnflowError('Instance %s has no local root disk.'
                                   % instance_uuid)


class FetchImage(base.BaseTask):
    """Fetch the root disk's image into the cache (checksum verified, and
    no larger than the flavor's disk), reporting the download through
    TaskFlow progress notifications (saved, at most one per percent) and
    a transferred notification per chunk (not saved).

    Revert: a base this build downloaded (the cache records who fetched
    it, so this holds after a crash too) is removed again, unless another
    live instance boots from the same image.
    """

    default_provides = 'base_image'
    TASK_EVENTS = base.BaseTask.TASK_EVENTS + (progress.EVENT_TRANSFERRED,)

    def pre_execute(self):
        super().pre_execute()
        self._reported = 0.0

    def execute(self, services, instance_uuid):
        image_id = _root_bdm(services, instance_uuid)['uuid']
        image = services.image.show(image_id)
        root_gb = services.db.instance_get(instance_uuid)['root_gb']
        path, downloaded = services.image_cache.fetch(
            image_id, root_gb * GiB, progress=self._report_progress,
            owner=instance_uuid)
        self.update_progress(1.0)
        return {'image_id': image_id, 'path': path,
                'disk_format': image['disk_format'],
                'downloaded': downloaded}

    def _report_progress(self, done, total):
        """The bytes transferred; TaskFlow progress at most per percent."""
        self.notifier.notify(progress.EVENT_TRANSFERRED,
                             {'done': done, 'total': total})
        if total:
            fraction = min(done / total, 1.0)
            if int(fraction * 100) > int(self._reported * 100):
                self._reported = fraction
                self.update_progress(fraction)

    def revert(self, services, instance_uuid, **kwargs):
        image_id = _root_bdm(services, instance_uuid)['uuid']
        users = [i for i in services.db.instance_list()
                 if i['image_ref'] == image_id and i['uuid'] != instance_uuid]
        if not users:
            services.image_cache.remove(image_id, owner=instance_uuid)


class CreateRootDisk(base.BaseTask):
    """Make the root disk, a qcow2 overlay on the base (the virt driver
    writes it in the instance's directory, atomically), and save its
    connection_info on the root BDM.

    Revert: the overlay goes and the BDM's connection_info is cleared.
    """

    def execute(self, services, instance_uuid, base_image):
        instance = services.db.instance_get(instance_uuid)
        root = _root_bdm(services, instance_uuid)
        services.db.check_claim()
        disk = services.virt.create_root_disk(
            instance_uuid, base_image['path'],
            imagecache.qemu_format(base_image['disk_format']),
            instance['root_gb'] * GiB)
        services.db.bdm_update(instance_uuid, root['bdm_index'], {
            'connection_info': {'driver_volume_type': 'file',
                                'data': {'device_path': disk,
                                         'format': 'qcow2'}}})
        return disk

    def revert(self, services, instance_uuid, **kwargs):
        services.virt.delete_root_disk(instance_uuid)
        root = _root_bdm(services, instance_uuid)
        services.db.bdm_update(instance_uuid, root['bdm_index'],
                               {'connection_info': None})


class DeleteInstanceFiles(base.BaseTask):
    """Remove the instance's directory (root disk, config drive, console
    log)."""

    def execute(self, services, instance_uuid):
        services.virt.delete_instance_files(instance_uuid)

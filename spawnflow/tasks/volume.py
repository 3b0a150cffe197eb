"""Block device tasks: create, wait for, attach, detach and delete volumes.

Each task works on one block device mapping, named by its index in the
request. The BDM row is the record of truth: a volume id or attachment id is
saved there as soon as it exists, so a re-run (or a revert) finds it.
"""

import logging
import time

import tenacity

from spawnflow.drivers.volume import base as volume_base
from spawnflow import exception
from spawnflow import instance_states as states
from spawnflow import secrets
from spawnflow.tasks import base

LOG = logging.getLogger(__name__)


class _BlockDeviceTask(base.BaseTask):
    def __init__(self, bdm_index, **kwargs):
        super().__init__(
            name='%s-%d' % (base._dashed(type(self).__name__), bdm_index),
            **kwargs)
        self.bdm_index = bdm_index

    def _bdm(self, services, instance_uuid):
        return services.db.bdm_get(instance_uuid, self.bdm_index)


class CreateVolume(_BlockDeviceTask):
    """Create the volume a blank, image or snapshot mapping asks for.

    Idempotent: a volume already recorded on the BDM row, or tagged with
    this deployment, instance and index, is used instead of making another;
    a tagged one in error (its creation interrupted by a crash) is replaced.
    An owner that lost the flow while creating (paused past its claim)
    deletes the volume it made, unless the new owner may have adopted it.
    Revert: the volume is deleted when delete_on_termination is set or when
    it is in error (it holds no data), and kept, recorded on the BDM row,
    otherwise (as Nova does), or when the volume service refuses the
    delete: never orphaned.
    """

    def _tags(self, services, instance_uuid):
        return volume_base.volume_metadata(services.deployment,
                                           instance_uuid, self.bdm_index)

    def execute(self, services, instance_uuid):
        bdm = self._bdm(services, instance_uuid)
        if bdm['volume_id']:
            return bdm['volume_id']
        tags = self._tags(services, instance_uuid)
        volume = services.volume.find(tags)
        if volume is not None and volume['status'] == 'error':
            # An earlier run's volume whose creation was interrupted (its
            # process was killed) or failed: make it again.
            LOG.info('Replacing volume %s of instance %s, in error: %s',
                     volume['id'], instance_uuid, volume.get('error'))
            services.volume.delete(volume['id'])
            volume = None
        if volume is not None:
            services.db.bdm_update(instance_uuid, self.bdm_index,
                                   {'volume_id': volume['id']})
            return volume['id']
        source = {'image': 'image_id', 'snapshot': 'snapshot_id'}.get(
            bdm['source_type'])
        services.db.check_claim()
        volume = services.volume.create(
            volume_base.volume_name(instance_uuid, self.bdm_index),
            bdm['volume_size'], tags,
            **({source: bdm['uuid']} if source else {}))
        try:
            services.db.bdm_update(instance_uuid, self.bdm_index,
                                   {'volume_id': volume['id']})
        except exception.ClaimLost:
            _undo_after_takeover(
                'volume %s' % volume['id'], instance_uuid,
                lambda: self._drop_unadopted(services, instance_uuid,
                                             volume['id']))
            raise
        return volume['id']

    def _drop_unadopted(self, services, instance_uuid, volume_id):
        """Delete the volume a lost owner made (paused while creating it)
        unless the new owner recorded it, or recorded none yet while still
        building, and so may adopt it by its tags (if it does not, the
        orphan sweep finds the volume once the build ends). Returns
        whether it was deleted."""
        recorded = self._bdm(services, instance_uuid)['volume_id']
        if recorded == volume_id or (recorded is None and services.db
                                     .instance_get(instance_uuid,
                                                   read_deleted=True)
                                     ['vm_state'] == states.BUILDING):
            return False
        services.volume.delete(volume_id)
        return True

    def revert(self, services, instance_uuid, **kwargs):
        bdm = self._bdm(services, instance_uuid)
        volume_id = bdm['volume_id']
        if not volume_id:
            found = services.volume.find(self._tags(services, instance_uuid))
            volume_id = found and found['id']
        if not volume_id:
            return
        try:
            status = services.volume.get(volume_id)['status']
        except exception.VolumeNotFound:
            status = None
        if status is None:
            volume_id = None
        elif bdm['delete_on_termination'] or status == 'error':
            try:
                services.volume.delete(volume_id)
                volume_id = None
            except exception.VolumeError as error:
                LOG.warning('Keeping volume %s of instance %s, recorded on '
                            'its block device mapping: %s', volume_id,
                            instance_uuid, secrets.mask_text(str(error)))
        services.db.bdm_update(instance_uuid, self.bdm_index,
                               {'volume_id': volume_id})


class WaitVolumeAvailable(_BlockDeviceTask):
    """Wait until the new volume is available (Nova's meaning).

    ``creating`` and ``downloading`` wait, ``available`` returns, any other
    status fails. Unlike Nova's fixed interval, checks back off
    exponentially up to the interval, within Nova's overall budget of
    retries x interval, and a driver that hears of the volume's changes
    (Cinder notifications) cuts each sleep short. Nothing to revert.
    """

    WAITING = ('creating', 'downloading')

    def execute(self, services, instance_uuid):
        volume_id = self._bdm(services, instance_uuid)['volume_id']
        conf = services.conf
        interval = conf.block_device_allocate_retries_interval
        started = time.monotonic()
        with services.volume.watch(volume_id) as watch:
            if watch.notified:
                # Notifications wake the wait; polls are a safety net.
                wait = tenacity.wait_fixed(
                    conf.cinder.notification_poll_interval)
            else:
                wait = tenacity.wait_exponential(multiplier=0.25,
                                                 max=max(interval, 0.25))
            retrying = tenacity.Retrying(
                retry=tenacity.retry_if_result(lambda s: s in self.WAITING),
                wait=wait,
                stop=tenacity.stop_after_delay(
                    conf.block_device_allocate_retries * interval),
                sleep=watch.sleep,
                retry_error_callback=lambda state: state.outcome.result())
            status = retrying(
                lambda: services.volume.get(volume_id)['status'])
        attempts = retrying.statistics['attempt_number']
        if status != 'available':
            raise exception.VolumeNotCreated(
                volume_id, time.monotonic() - started, attempts, status)
        return {'attempts': attempts}


class AttachVolume(_BlockDeviceTask):
    """Attach through the attachments API and save connection_info.

    create (with this host's connector) -> save attachment id and
    connection_info (without its secrets) on the BDM row -> keep an
    iSCSI target's CHAP password in a libvirt secret -> complete.
    Idempotent: an earlier attachment of this volume to this instance is
    replaced. An owner that lost the flow while attaching (paused past its
    claim) deletes the attachment it made: the new owner makes its own.
    Revert: the attachment and the secret are deleted and the attachment
    cleared from the BDM row.
    """

    def execute(self, services, instance_uuid):
        # The connector first (os-brick takes a while the first time):
        # the claim is then checked just before the attachment calls,
        # which an owner that lost the flow meanwhile must not make.
        connector = services.connector
        bdm = self._bdm(services, instance_uuid)
        volume_id = bdm['volume_id']
        attachment = services.volume.attachment_find(volume_id,
                                                     instance_uuid)
        if attachment is not None:
            # Checked again after the find: a new owner's attachment, a
            # guest's, must not be the one replaced.
            services.db.check_claim()
            services.volume.attachment_delete(attachment['id'])
        services.db.check_claim()
        attachment = services.volume.attachment_create(
            volume_id, instance_uuid, connector)
        info = attachment['connection_info']
        try:
            services.db.bdm_update(instance_uuid, self.bdm_index, {
                'attachment_id': attachment['id'], 'connection_info': info})
        except exception.ClaimLost:
            def delete_attachment():
                services.volume.attachment_delete(attachment['id'])
                return True
            _undo_after_takeover('attachment %s' % attachment['id'],
                                 instance_uuid, delete_attachment)
            raise
        if (info['driver_volume_type'] == 'iscsi'
                and info['data'].get('auth_method') == 'CHAP'):
            services.virt.set_volume_secret(
                instance_uuid, bdm['device_name'],
                attachment['secrets']['auth_password'])
        services.volume.attachment_complete(attachment['id'])
        return attachment['id']

    def revert(self, services, instance_uuid, **kwargs):
        _detach(services, instance_uuid, self._bdm(services, instance_uuid))


def _undo_after_takeover(what, instance_uuid, undo):
    """Run ``undo``, which removes what this owner made after another took
    its flow over and returns whether it did; when it fails, say so and
    leave ``what`` to the orphan sweep (the caller raises its ClaimLost
    either way)."""
    try:
        removed = undo()
    except exception.SpawnflowError as error:
        LOG.warning('Leaving %s of instance %s to the orphan sweep: %s',
                    what, instance_uuid, secrets.mask_text(str(error)))
        return
    if removed:
        LOG.info('Removed %s of instance %s: made after its flow was taken '
                 'over', what, instance_uuid)


def _detach(services, instance_uuid, bdm):
    """Delete the BDM's attachment (found by id, or by instance and volume)
    and the libvirt secret of its CHAP password."""
    attachment_id = bdm['attachment_id']
    if not attachment_id and bdm['volume_id']:
        found = services.volume.attachment_find(bdm['volume_id'],
                                                instance_uuid)
        attachment_id = found and found['id']
    if attachment_id:
        services.volume.attachment_delete(attachment_id)
    services.virt.delete_volume_secret(instance_uuid, bdm['device_name'])
    services.db.bdm_update(instance_uuid, bdm['bdm_index'],
                           {'attachment_id': None, 'connection_info': None})


class DetachVolume(_BlockDeviceTask):
    """Delete the volume's attachment when the instance goes away."""

    def execute(self, services, instance_uuid):
        _detach(services, instance_uuid, self._bdm(services, instance_uuid))


class DeleteVolume(_BlockDeviceTask):
    """Delete a volume whose mapping has delete_on_termination set."""

    def execute(self, services, instance_uuid):
        bdm = self._bdm(services, instance_uuid)
        if bdm['volume_id'] and bdm['delete_on_termination']:
            services.volume.delete(bdm['volume_id'])
            services.db.bdm_update(instance_uuid, self.bdm_index,
                                   {'volume_id': None})

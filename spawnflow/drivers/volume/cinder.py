"""Volume driver ``cinder``: Cinder through python-cinderclient.

Volumes made for a block device carry metadata naming the instance and the
block device index, so a task re-run after a crash finds its volume with a
metadata-filtered list instead of creating another. Attachments use the
attachments API (microversion 3.44): create with the host connector,
complete, delete.
"""

from cinderclient import api_versions
from cinderclient import client as cinder_client
from cinderclient import exceptions as cinder_exceptions

from spawnflow.drivers import keystone
from spawnflow.drivers.volume import base
from spawnflow.drivers.volume import events
from spawnflow import exception

MIN_API_VERSION = '3.44'
SECRET_WORDS = ('password', 'secret', 'token')


def _volume(resource):
    """A plain dict of what spawnflow uses of a Cinder volume."""
    return {'id': resource.id, 'name': resource.name,
            'status': resource.status, 'size': resource.size,
            'metadata': dict(resource.metadata or {}),
            'attachments': [{'id': a['attachment_id'],
                             'instance_uuid': a.get('server_id'),
                             'status': 'attached'}
                            for a in resource.attachments or []]}


def _connection_info(flat):
    """Nova's shape, {'driver_volume_type', 'data'}, from the attachments
    API's flat dict; keys naming secrets (CHAP passwords) are dropped, so
    they never reach the database."""
    data = {key: value for key, value in flat.items()
            if key != 'driver_volume_type'
            and not any(word in key for word in SECRET_WORDS)}
    return {'driver_volume_type': flat['driver_volume_type'], 'data': data}


class CinderVolumeDriver(base.VolumeDriver):
    def __init__(self, conf, image_driver=None):
        version = api_versions.APIVersion(conf.cinder.api_version)
        if version < api_versions.APIVersion(MIN_API_VERSION):
            raise exception.SpawnflowError(
                '[cinder] api_version must be at least %s, not %s.'
                % (MIN_API_VERSION, conf.cinder.api_version))
        kwargs = keystone.endpoint_kwargs(conf, 'cinder')
        self._client = cinder_client.Client(
            conf.cinder.api_version,
            session=keystone.session(conf, 'cinder'),
            service_type=kwargs['service_type'],
            region_name=kwargs['region_name'],
            endpoint_type=kwargs['interface'],
            os_endpoint=kwargs['endpoint_override'])
        self._events = (events.VolumeEvents(conf)
                        if conf.cinder.notification_transport_url else None)

    def watch(self, volume_id):
        if self._events is None:
            return super().watch(volume_id)
        return self._events.watch(volume_id)

    def close(self):
        if self._events is not None:
            self._events.stop()

    def create(self, name, size_gb, metadata, image_id=None,
               snapshot_id=None):
        try:
            volume = self._client.volumes.create(
                size_gb, name=name, metadata=metadata, imageRef=image_id,
                snapshot_id=snapshot_id)
        except cinder_exceptions.ClientException as error:
            raise exception.VolumeError('Cinder refused to create volume '
                                        '%s: %s' % (name, error))
        return _volume(volume)

    def find(self, instance_uuid, bdm_index):
        found = [v for v in self._client.volumes.list(search_opts={
            'metadata': base.volume_metadata(instance_uuid, bdm_index)})
            if v.status != 'deleting']  # replaced, on its way out
        return _volume(found[0]) if found else None

    def get(self, volume_id):
        try:
            return _volume(self._client.volumes.get(volume_id))
        except cinder_exceptions.NotFound:
            raise exception.VolumeNotFound(volume_id)

    def list(self):
        return [_volume(v) for v in self._client.volumes.list()]

    def delete(self, volume_id):
        """Delete the volume; one stuck in a state Cinder will not delete
        from (``creating``) is force-deleted, which needs an admin."""
        try:
            try:
                self._client.volumes.delete(volume_id)
            except cinder_exceptions.BadRequest:
                self._client.volumes.force_delete(volume_id)
        except cinder_exceptions.NotFound:
            pass
        except cinder_exceptions.ClientException as error:
            raise exception.VolumeError('Cinder refused to delete volume '
                                        '%s: %s' % (volume_id, error))

    def attachment_create(self, volume_id, instance_uuid, connector):
        try:
            attachment = self._client.attachments.create(
                volume_id, connector, instance_uuid)
        except cinder_exceptions.NotFound:
            raise exception.VolumeNotFound(volume_id)
        except cinder_exceptions.ClientException as error:
            raise exception.VolumeError('Cinder refused to attach volume '
                                        '%s: %s' % (volume_id, error))
        # create returns a dict (other attachment calls return objects).
        return {'id': attachment['id'],
                'connection_info': _connection_info(
                    attachment['connection_info'])}

    def attachment_complete(self, attachment_id):
        self._client.attachments.complete(attachment_id)

    def attachment_find(self, volume_id, instance_uuid):
        found = self._client.attachments.list(search_opts={
            'volume_id': volume_id, 'instance_id': instance_uuid})
        if not found:
            return None
        return {'id': found[0].id, 'instance_uuid': instance_uuid,
                'status': found[0].status}

    def attachment_delete(self, attachment_id):
        try:
            self._client.attachments.delete(attachment_id)
        except cinder_exceptions.NotFound:
            pass

    def snapshot_get(self, snapshot_id):
        try:
            snapshot = self._client.volume_snapshots.get(snapshot_id)
        except cinder_exceptions.NotFound:
            raise exception.SnapshotNotFound(snapshot_id)
        return {'id': snapshot.id, 'name': snapshot.name,
                'volume_id': snapshot.volume_id, 'size': snapshot.size,
                'status': snapshot.status}

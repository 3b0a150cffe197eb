"""Volume driver ``cinder``: Cinder through python-cinderclient.

Volumes made for a block device carry metadata naming the deployment, the
instance and the block device index, so a task re-run after a crash finds
its volume with a metadata-filtered list instead of creating another.
Attachments use the attachments API (microversion 3.44): create with the
host connector, complete, delete.

Every operation is an idempotent unit retried on transient failures
(``[cinder] http_retries``): a create that may have reached Cinder before
its answer was lost first looks for what it made, a delete of what is
gone is done.
"""

from cinderclient import api_versions
from cinderclient import exceptions as cinder_exceptions
from cinderclient.v3 import client as cinder_client
from keystoneauth1 import exceptions as ks_exceptions

from spawnflow.drivers import errors
from spawnflow.drivers import keystone
from spawnflow.drivers.volume import base
from spawnflow.drivers.volume import events
from spawnflow import exception
from spawnflow import retry
from spawnflow import secrets

MIN_API_VERSION = '3.44'
SERVICE = 'Cinder'


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
    API's flat dict, without the secrets it may carry (CHAP passwords,
    keyrings): they never reach the database."""
    data = secrets.without_secrets(
        {key: value for key, value in flat.items()
         if key != 'driver_volume_type'})
    return {'driver_volume_type': flat['driver_volume_type'], 'data': data}


def _unit(what, function, not_found):
    """``function`` with Cinder's and keystoneauth's errors translated:
    transient ones into ServiceUnavailable (to be retried), NotFound into
    ``not_found()`` when the operation expects it (a list answered 404
    means the endpoint is not Cinder's), the others into VolumeError."""
    def once():
        try:
            return function()
        except cinder_exceptions.NotFound as error:
            if not_found is not None:
                raise not_found() from error
            raise exception.VolumeError(
                'Cinder refused to %s: %s; is the [cinder] endpoint a '
                'Block Storage v3 API?' % (what, error)) from error
        except cinder_exceptions.ClientException as error:
            if error.code in errors.TRANSIENT_STATUS:
                raise exception.ServiceUnavailable(
                    SERVICE, '%s failed: %s' % (what, error)) from error
            raise exception.VolumeError(
                'Cinder refused to %s: %s' % (what, error)) from error
        except ks_exceptions.ClientException as error:
            raise keystone.translated(SERVICE, what, error,
                                      exception.VolumeError) from error
        except (KeyError, ValueError, TypeError) as error:
            # cinderclient reading an answer that is not what it expects.
            raise exception.VolumeError(
                'Cinder refused to %s: its answer is not Block Storage v3 '
                '(%s: %s); is the [cinder] endpoint a Block Storage v3 API?'
                % (what, type(error).__name__, error)) from error
    return once


class CinderVolumeDriver(base.VolumeDriver):
    def __init__(self, conf, image_driver=None):
        version = api_versions.APIVersion(conf.cinder.api_version)
        if version < api_versions.APIVersion(MIN_API_VERSION):
            raise exception.SpawnflowError(
                '[cinder] api_version must be at least %s, not %s.'
                % (MIN_API_VERSION, conf.cinder.api_version))
        # The v3 client itself: cinderclient.Client's first argument is
        # the API's version, which is also the name of an adapter's.
        self._client = cinder_client.Client(
            api_version=version, **keystone.client_kwargs(conf, 'cinder'))
        self._retry = retry.Policy.from_conf(conf, conf.cinder.http_retries)
        self._events = (events.VolumeEvents(conf)
                        if conf.cinder.notification_transport_url else None)

    def _call(self, what, function, not_found=None):
        return self._retry.call(what, _unit(what, function, not_found))

    def watch(self, volume_id):
        if self._events is None:
            return super().watch(volume_id)
        return self._events.watch(volume_id)

    def close(self):
        if self._events is not None:
            self._events.stop()

    def limits(self):
        """The per-volume limit is Cinder's database's; the quota's rest
        comes from the limits API."""
        absolute = {limit.name: limit.value for limit in self._call(
            'read the volume limits', lambda: self._client.limits.get()
        ).absolute}

        def free(limit, used):
            total = absolute.get(limit, -1)
            if total < 0:
                return None  # unlimited
            return max(total - absolute.get(used, 0), 0)
        return {'max_volume_gb': None,
                'free_gb': free('maxTotalVolumeGigabytes',
                                'totalGigabytesUsed'),
                'free_volumes': free('maxTotalVolumes', 'totalVolumesUsed')}

    def create(self, name, size_gb, metadata, image_id=None,
               snapshot_id=None):
        """Create a volume. When the answer to a create is lost, the volume
        may exist: a retry first looks for one with the same metadata
        (which names its block device), and creates only if none exists."""
        attempts = []

        def create():
            if attempts and metadata:
                found = self._find(metadata)
                if found is not None:
                    return found
            attempts.append(name)
            return _volume(self._client.volumes.create(
                size_gb, name=name, metadata=metadata, imageRef=image_id,
                snapshot_id=snapshot_id))
        return self._call('create volume %s' % name, create)

    def find(self, metadata):
        return self._call('find a volume by its metadata',
                          lambda: self._find(metadata))

    def _find(self, metadata):
        """The oldest volume with ``metadata`` that is not being deleted
        (one that was replaced is on its way out)."""
        found = [v for v in self._client.volumes.list(
            search_opts={'metadata': metadata}) if v.status != 'deleting']
        found.sort(key=lambda v: (v.created_at, v.id))
        return _volume(found[0]) if found else None

    def get(self, volume_id):
        return _volume(self._call(
            'show volume %s' % volume_id,
            lambda: self._client.volumes.get(volume_id),
            not_found=lambda: exception.VolumeNotFound(volume_id)))

    def list(self):
        return self._call('list volumes', lambda: [
            _volume(v) for v in self._client.volumes.list()])

    def delete(self, volume_id):
        """Delete the volume; one stuck in a state Cinder will not delete
        from (``creating``) is force-deleted, which needs an admin. A
        volume already gone or being deleted (an earlier attempt whose
        answer was lost) is done."""
        def delete():
            try:
                volume = self._client.volumes.get(volume_id)
                if volume.status == 'deleting':
                    return
                try:
                    self._client.volumes.delete(volume_id)
                except cinder_exceptions.BadRequest:
                    self._client.volumes.force_delete(volume_id)
            except cinder_exceptions.NotFound:
                pass
        self._call('delete volume %s' % volume_id, delete)

    def attachment_create(self, volume_id, instance_uuid, connector):
        """Attach; a retry first deletes the attachment an attempt whose
        answer was lost may have made."""
        attempts = []

        def create():
            if attempts:
                found = self._attachment_find(volume_id, instance_uuid)
                if found is not None:
                    self._client.attachments.delete(found['id'])
            attempts.append(volume_id)
            return self._client.attachments.create(volume_id, connector,
                                                   instance_uuid)
        attachment = self._call(
            'attach volume %s' % volume_id, create,
            not_found=lambda: exception.VolumeNotFound(volume_id))
        # create returns a dict (other attachment calls return objects).
        flat = attachment['connection_info']
        return {'id': attachment['id'],
                'connection_info': _connection_info(flat),
                'secrets': {key: value for key, value in flat.items()
                            if secrets.is_secret_key(key)}}

    def attachment_complete(self, attachment_id):
        def complete():
            if self._client.attachments.show(attachment_id).status != (
                    'attached'):
                self._client.attachments.complete(attachment_id)
        self._call('complete attachment %s' % attachment_id, complete)

    def attachment_find(self, volume_id, instance_uuid):
        return self._call(
            'find the attachment of volume %s' % volume_id,
            lambda: self._attachment_find(volume_id, instance_uuid))

    def _attachment_find(self, volume_id, instance_uuid):
        found = self._client.attachments.list(search_opts={
            'volume_id': volume_id, 'instance_id': instance_uuid})
        if not found:
            return None
        return {'id': found[0].id, 'instance_uuid': instance_uuid,
                'status': found[0].status}

    def attachment_delete(self, attachment_id):
        def delete():
            try:
                self._client.attachments.delete(attachment_id)
            except cinder_exceptions.NotFound:
                pass
        self._call('delete attachment %s' % attachment_id, delete)

    def snapshot_get(self, snapshot_id):
        snapshot = self._call(
            'show snapshot %s' % snapshot_id,
            lambda: self._client.volume_snapshots.get(snapshot_id),
            not_found=lambda: exception.SnapshotNotFound(snapshot_id))
        return {'id': snapshot.id, 'name': snapshot.name,
                'volume_id': snapshot.volume_id, 'size': snapshot.size,
                'status': snapshot.status}

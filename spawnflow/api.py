"""The public Python API for services that embed spawnflow.

::

    from spawnflow import api

    client = api.Client(config_files=['spawnflow.conf'])
    client.db_sync()
    image = client.image_create('cirros', '/tmp/cirros.qcow2', 'qcow2')
    server = client.build('web-1', flavor='m1.tiny', image=image['id'])
    client.delete(server['uuid'])

Every call validates its input before anything is created and raises
``spawnflow.exception.SpawnflowError`` subclasses with one clear message.
"""

import uuid as uuidlib

import tenacity

from spawnflow import conf as spawnflow_conf
from spawnflow import engine as spawnflow_engine
from spawnflow import drivers
from spawnflow import exception
from spawnflow import imagecache
from spawnflow import flows
from spawnflow.flows import build as build_flow
from spawnflow.flows import delete as delete_flow
from spawnflow import objects
from spawnflow import orphans
from spawnflow.persistence import migration
from spawnflow import services as spawnflow_services
from spawnflow.tasks import lifecycle

BUILD_TASK_STATES = ('scheduling', 'block_device_mapping', 'spawning')


class Client:
    """Build, delete, show, list and wait for instances; manage images.

    Give either a parsed oslo.config ``conf`` (see ``spawnflow.conf.load``)
    or ``config_files`` to read.
    """

    def __init__(self, conf=None, config_files=None):
        self.conf = conf or spawnflow_conf.load(config_files)
        self.services = spawnflow_services.Services(self.conf)
        self.engine = spawnflow_engine.Engine(self.services)

    def close(self):
        self.engine.close()
        self.services.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def db(self):
        return self.services.db

    def db_sync(self):
        """Create or upgrade spawnflow's and TaskFlow's tables."""
        migration.sync(self.db.engine, self.engine.backend)

    # Instances ----------------------------------------------------------

    def build(self, name, flavor=None, image=None, block_devices=(),
              vcpus=None, ram=None, disk=None):
        """Build an instance and return it (ACTIVE, or ERROR with a fault).

        ``flavor`` is a flavor name or a Flavor; or give ``vcpus``, ``ram``
        (MiB) and ``disk`` (GiB). ``block_devices`` holds BlockDeviceMapping
        objects, dicts or ``--block-device`` strings.
        """
        request = objects.BuildRequest(
            name=name, flavor=_flavor(flavor, vcpus, ram, disk),
            image_ref=image,
            block_device_mappings=[_bdm(b) for b in block_devices])
        self._check_references(request)
        uuid = str(uuidlib.uuid4())
        self.db.instance_create(uuid, request, vm_state=lifecycle.BUILDING,
                                task_state='scheduling')
        shape = [(index, b.source_type, b.destination_type)
                 for index, b in enumerate(request.block_device_mappings)]
        self.engine.run(uuid, 'create', build_flow.get_build_flow,
                        {'instance_uuid': uuid, 'block_devices': shape})
        return self.show(uuid, read_deleted=True)

    def _check_references(self, request):
        """Images, volumes and snapshots the request names must be usable."""
        for bdm in request.block_device_mappings:
            if bdm.source_type == 'image':
                if bdm.destination_type == 'volume' and bdm.uuid.startswith(
                        drivers.ImageRouter.URL_PREFIXES):
                    raise exception.InvalidRequest(
                        'Images given as URLs can only be the root disk '
                        '(--image), not the source of a volume.')
                image = self.services.image.show(bdm.uuid)
                if image['status'] != 'active':
                    raise exception.InvalidRequest(
                        'Image %s is %s, not active.'
                        % (bdm.uuid, image['status']))
                size_gb = (request.flavor.root_gb if bdm.destination_type
                           == 'local' else bdm.volume_size)
                if (image['virtual_size'] is not None
                        and image['virtual_size'] > size_gb * 1024 ** 3):
                    raise exception.InvalidRequest(
                        'Image %s needs %d bytes; the %s of %d GiB is too '
                        'small.' % (bdm.uuid, image['virtual_size'],
                                    'flavor disk' if bdm.destination_type
                                    == 'local' else 'volume', size_gb))
            elif bdm.source_type == 'volume':
                volume = self.services.volume.get(bdm.uuid)
                if volume['status'] != 'available':
                    raise exception.InvalidRequest(
                        'Volume %s is %s, not available.'
                        % (bdm.uuid, volume['status']))
            elif bdm.source_type == 'snapshot':
                self.services.volume.snapshot_get(bdm.uuid)

    def delete(self, uuid):
        """Delete an instance, or ask its running build to stop and revert.

        A building instance gets task_state ``deleting``; its build notices
        at its next compare-and-swap save and reverts everything. A delete
        that fails leaves the instance ERROR with a fault and raises.
        """
        instance = self.db.instance_get(uuid)
        if instance['vm_state'] == lifecycle.BUILDING:
            try:
                self.db.instance_update(
                    uuid, {'task_state': lifecycle.DELETING},
                    expected_task_state=BUILD_TASK_STATES)
                return
            except exception.UnexpectedTaskStateError:
                instance = self.db.instance_get(uuid)  # build just ended
        state = self.engine.run(
            uuid, 'delete', delete_flow.get_delete_flow,
            {'instance_uuid': uuid,
             'block_devices': flows.block_device_shape(self.db, uuid)})
        if state != 'SUCCESS':
            fault = self.db.fault_get_latest(uuid)
            raise exception.SpawnflowError(
                'Deleting instance %s failed: %s'
                % (uuid, fault['message'] if fault else state))

    def resume(self):
        """Finish every build and delete a crash interrupted.

        Returns [(instance uuid, action, final flow state)].
        """
        finished = []
        for detail in self.engine.unfinished():
            state = self.engine.resume(detail)
            finished.append((detail.meta['instance_uuid'],
                             detail.meta['action'], state))
        finished += self._fail_builds_without_flow()
        return finished

    def _fail_builds_without_flow(self):
        """A build killed before its flow was saved created nothing: ERROR
        it with a fault, as Nova does with every interrupted build."""
        with_flow = {d.meta.get('instance_uuid')
                     for d in self.engine.flow_details()
                     if d.meta.get('action') == 'create'}
        failed = []
        for instance in self.db.instance_list():
            if (instance['vm_state'] == lifecycle.BUILDING
                    and instance['uuid'] not in with_flow):
                self.db.instance_update(instance['uuid'], {
                    'vm_state': lifecycle.ERROR, 'task_state': None})
                self.db.fault_create(
                    instance['uuid'], 500, 'Build interrupted before its '
                    'flow was saved; nothing was created.', None,
                    self.services.host)
                failed.append((instance['uuid'], 'create', 'NOT STARTED'))
        return failed

    def orphans(self):
        """Resources tagged as spawnflow's that no instance accounts for."""
        return orphans.find(self.services)

    def reap_orphans(self):
        """Remove every orphan; returns what was removed."""
        found = orphans.find(self.services)
        orphans.reap(self.services, found)
        return found

    def show(self, uuid, read_deleted=False):
        """The instance with its block devices and its latest fault."""
        instance = self.db.instance_get(uuid, read_deleted=read_deleted)
        instance['block_devices'] = self.db.bdm_list(uuid)
        instance['fault'] = self.db.fault_get_latest(uuid)
        return instance

    def list(self):
        return self.db.instance_list()

    def actions(self, uuid):
        """Instance actions, each with one event per task."""
        return self.db.action_list(uuid)

    def wait(self, uuid, timeout=600):
        """Wait until the instance is no longer building (or is deleted).

        Returns the instance, or None once it has been deleted.
        """
        def poll():
            try:
                instance = self.db.instance_get(uuid)
            except exception.InstanceNotFound:
                return None
            return instance
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(
                lambda i: i is not None and (i['vm_state'] ==
                                             lifecycle.BUILDING
                                             or i['task_state'])),
            wait=tenacity.wait_exponential(multiplier=0.05, max=2),
            stop=tenacity.stop_after_delay(timeout), reraise=True)
        try:
            return retrying(poll)
        except tenacity.RetryError:
            raise exception.SpawnflowError(
                'Instance %s is still busy after %s seconds.'
                % (uuid, timeout))

    # Images -------------------------------------------------------------

    def image_create(self, name, file_path, disk_format):
        return self.services.image.create(name, file_path, disk_format)

    def image_list(self):
        return self.services.image.list()

    def image_show(self, image_id):
        return self.services.image.show(image_id)

    def image_cache_list(self):
        """Cached bases, each with its image id and live users."""
        return self.services.image_cache.entries(
            imagecache.image_users(self.db))

    def image_cache_clean(self, dry_run=False):
        """Remove bases unused by live instances for
        remove_unused_original_minimum_age_seconds; returns them."""
        return self.services.image_cache.clean(
            self.db, self.conf.remove_unused_original_minimum_age_seconds,
            dry_run=dry_run)


def _flavor(flavor, vcpus, ram, disk):
    custom = (vcpus, ram, disk)
    if flavor is not None and any(v is not None for v in custom):
        raise exception.InvalidRequest(
            'Give a flavor or --vcpus/--ram/--disk, not both.')
    if isinstance(flavor, objects.Flavor):
        return flavor
    if flavor is not None:
        return objects.Flavor.named(flavor)
    if any(v is None for v in custom):
        raise exception.InvalidRequest(
            'Give a flavor, or all of --vcpus, --ram and --disk.')
    return objects.Flavor('custom', vcpus, ram, disk)


def _bdm(value):
    if isinstance(value, objects.BlockDeviceMapping):
        return value
    if isinstance(value, str):
        return objects.BlockDeviceMapping.parse(value)
    return objects.BlockDeviceMapping.from_request(value)

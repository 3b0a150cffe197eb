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

from taskflow import states
import tenacity

from spawnflow import admission
from spawnflow import conf as spawnflow_conf
from spawnflow import engine as spawnflow_engine
from spawnflow import exception
from spawnflow import imagecache
from spawnflow import flows
from spawnflow.flows import build as build_flow
from spawnflow.flows import delete as delete_flow
from spawnflow import orphans
from spawnflow.persistence import errors as db_errors
from spawnflow.persistence import migration
from spawnflow import secrets
from spawnflow import services as spawnflow_services
from spawnflow.tasks import lifecycle

BUILD_TASK_STATES = ('scheduling', 'block_device_mapping', 'spawning')


class Client:
    """Build, delete, show, list and wait for instances; manage images.

    Give either a parsed oslo.config ``conf`` (see ``spawnflow.conf.load``)
    or ``config_files`` to read.
    """

    def __init__(self, conf=None, config_files=None):
        secrets.install_log_filter()
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
        db_errors.guarded(self.db.retry, self.db.engine.url, 'db sync',
                          migration.sync, self.db.engine, self.engine.backend)

    # Instances ----------------------------------------------------------

    def build(self, name, flavor=None, image=None, block_devices=(),
              vcpus=None, ram=None, disk=None):
        """Build an instance and return it (ACTIVE, or ERROR with a fault).

        ``flavor`` is a flavor name or a Flavor; or give ``vcpus``, ``ram``
        (MiB) and ``disk`` (GiB). ``block_devices`` holds BlockDeviceMapping
        objects, dicts or ``--block-device`` strings.
        """
        request = admission.admit(self.services, name, flavor, image,
                                  block_devices, vcpus, ram, disk)
        uuid = str(uuidlib.uuid4())
        shape = [(index, b.source_type, b.destination_type)
                 for index, b in enumerate(request.block_device_mappings)]
        # Owned from before it is recorded: a resume elsewhere never
        # takes it for a build that crashed before saving its flow.
        with self.engine.owners.hold(uuid):
            self.db.instance_create(uuid, request,
                                    vm_state=lifecycle.BUILDING,
                                    task_state='scheduling')
            state = self.engine.run(
                uuid, 'create', build_flow.get_build_flow,
                {'instance_uuid': uuid, 'block_devices': shape})
        if state == states.SUSPENDED:
            raise exception.Interrupted(
                'Interrupted: server %s is left BUILD; `spawnflow resume` '
                'finishes the build, `spawnflow server delete %s` removes '
                'it.' % (uuid, uuid))
        return self.show(uuid, read_deleted=True)

    def delete(self, uuid, wait=600):
        """Delete an instance: domain, attachments, disks, and the volumes
        whose delete_on_termination is set.

        A build another process runs is asked to stop (task_state
        ``deleting``: it reverts at its next step) and waited for, up to
        ``wait`` seconds; a flow that a crash, an interruption or a failed
        revert left unfinished is finished first. Raises unless the
        instance is deleted (InstanceBusy when its owner did not let go in
        time, SpawnflowError with the fault when a step failed).
        """
        instance = self.db.instance_get(uuid)
        if instance['vm_state'] == lifecycle.BUILDING:
            try:
                self.db.instance_update(
                    uuid, {'task_state': lifecycle.DELETING},
                    expected_task_state=BUILD_TASK_STATES)
            except exception.UnexpectedTaskStateError:
                pass  # already being deleted, or its build just ended
            if self.engine.owners.holds(uuid):
                return  # called from its own build, which now reverts
        with self.engine.owners.hold(uuid, wait=wait):
            for detail in self.engine.unfinished(uuid):
                if self.engine.resume(detail) == states.SUSPENDED:
                    raise exception.Interrupted(
                        'Interrupted: server %s is left for `spawnflow '
                        'resume` or `spawnflow server delete %s`.'
                        % (uuid, uuid))
            try:
                self.db.instance_get(uuid)
            except exception.InstanceNotFound:
                return  # the build, told to stop, deleted it as it reverted
            if self.engine.unfinished(uuid):
                raise exception.SpawnflowError(
                    'Instance %s cannot be deleted yet: %s'
                    % (uuid, self._fault_message(uuid)))
            state = self.engine.run(
                uuid, 'delete', delete_flow.get_delete_flow,
                {'instance_uuid': uuid,
                 'block_devices': flows.block_device_shape(self.db, uuid)})
        if state == states.SUSPENDED:
            raise exception.Interrupted(
                'Interrupted: the delete of server %s is left unfinished; '
                '`spawnflow resume` or `spawnflow server delete %s` '
                'finishes it.' % (uuid, uuid))
        if state != states.SUCCESS:
            raise exception.SpawnflowError(
                'Deleting instance %s failed: %s'
                % (uuid, self._fault_message(uuid) or state))

    def _fault_message(self, uuid):
        fault = self.db.fault_get_latest(uuid)
        return fault['message'] if fault else None

    def resume(self):
        """Finish every build and delete a crash, an interruption or a
        failed revert left unfinished, but those a live process runs.

        Returns [(instance uuid, action, final flow state)], the state
        ``IN PROGRESS`` for a flow another process runs (left alone).
        """
        return self.engine.resume_all() + self._fail_builds_without_flow()

    def _fail_builds_without_flow(self):
        """A build killed before its flow was saved created nothing: ERROR
        it with a fault, as Nova does with every interrupted build."""
        with_flow = {d.meta.get('instance_uuid')
                     for d in self.engine.flow_details()
                     if d.meta.get('action') == 'create'}
        failed = []
        for instance in self.db.instance_list():
            uuid = instance['uuid']
            if instance['vm_state'] != lifecycle.BUILDING or uuid in with_flow:
                continue
            try:
                with self.engine.owners.hold(uuid):
                    if self.engine.unfinished(uuid) or self.db.instance_get(
                            uuid)['vm_state'] != lifecycle.BUILDING:
                        continue  # its builder got further meanwhile
                    self.db.instance_update(uuid, {
                        'vm_state': lifecycle.ERROR, 'task_state': None})
                    self.db.fault_create(
                        uuid, 500, 'Build interrupted before its flow was '
                        'saved; nothing was created.', None,
                        self.services.host)
            except exception.InstanceBusy:
                continue  # being admitted by a live process
            failed.append((uuid, 'create', 'NOT STARTED'))
        return failed

    def orphans(self):
        """Resources tagged as spawnflow's that no instance accounts for."""
        return orphans.find(self.services)

    def reap_orphans(self):
        """Remove every orphan; returns what was removed."""
        return orphans.reap(self.services, self.engine.owners,
                            orphans.find(self.services))

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

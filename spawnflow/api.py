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

import contextlib
import datetime
import uuid as uuidlib

from taskflow import states
import tenacity

from spawnflow import admission
from spawnflow import conf as spawnflow_conf
from spawnflow import engine as spawnflow_engine
from spawnflow import exception
from spawnflow import execution
from spawnflow import flows
from spawnflow import instance_states
from spawnflow import jobboard
from spawnflow import objects
from spawnflow import orphans
from spawnflow.persistence import errors as db_errors
from spawnflow.persistence import migration
from spawnflow import recovery
from spawnflow import secrets
from spawnflow import services as spawnflow_services

#: What resume() reports, with a job board, for an unfinished flow whose
#: job waits on the board, one a conductor runs, and one posted again.
QUEUED = 'QUEUED'
IN_PROGRESS = recovery.IN_PROGRESS
POSTED = 'POSTED'


class Client:
    """Build, delete, show, list and wait for instances; manage images.

    Give either a parsed oslo.config ``conf`` (see ``spawnflow.conf.load``)
    or ``config_files`` to read.

    This is admission: requests are validated and recorded here, then run
    in this process (the embedded default) or, with a job board
    configured, posted as jobs that ``spawnflow conductor`` processes run.
    """

    def __init__(self, conf=None, config_files=None):
        secrets.install_log_filter()
        self.conf = conf or spawnflow_conf.load(config_files)
        self.services = spawnflow_services.Services(self.conf)
        self.engine = spawnflow_engine.Engine(self.services,
                                              owner=self.conf.conductor.name)
        self._board = None

    def close(self):
        if self._board is not None:
            self._board.close()
        self.engine.close()
        self.services.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def db(self):
        return self.services.db

    @property
    def board(self):
        """The job board (connected on first use), or None without one."""
        if self._board is None and jobboard.enabled(self.conf):
            self._board = jobboard.connect(self.conf, self.engine.backend)
        return self._board

    def db_sync(self):
        """Create or upgrade spawnflow's and TaskFlow's tables."""
        db_errors.guarded(self.db.retry, self.db.engine.url, 'db sync',
                          migration.sync, self.db.engine, self.engine.backend)

    # Instances ----------------------------------------------------------

    def build(self, name, flavor=None, image=None, block_devices=(),
              vcpus=None, ram=None, disk=None, wait=True, user_data=None,
              network_config=None):
        """Build an instance and return it (ACTIVE, or ERROR with a fault).

        ``flavor`` is a flavor name or a Flavor; or give ``vcpus``, ``ram``
        (MiB) and ``disk`` (GiB). ``block_devices`` holds BlockDeviceMapping
        objects, dicts or ``--block-device`` strings. ``user_data`` and
        ``network_config`` (bytes) go on the guest's config drive, as
        cloud-init's NoCloud reads them. With a job board,
        ``wait=False`` returns the instance in BUILD once its job is
        posted.
        """
        if not wait and self.board is None:
            raise exception.InvalidRequest(
                'Not waiting for a build needs a job board ([jobboard] '
                'backend) and a `spawnflow conductor` to run it.')
        request = admission.admit(self.services, name, flavor, image,
                                  block_devices, vcpus, ram, disk,
                                  user_data, network_config)
        uuid = str(uuidlib.uuid4())
        arguments = {'instance_uuid': uuid, 'block_devices':
                     flows.mapping_shape(request.block_device_mappings)}
        if self.board is not None:
            return self._post_build(uuid, request, arguments, wait)
        # Owned from before it is recorded: a resume elsewhere never
        # takes it for a build that crashed before saving its flow.
        with self.engine.owners.hold(uuid):
            self._record(uuid, request)
            state = self.engine.run(uuid, 'create', flows.FACTORIES['create'],
                                    arguments)
        if state == states.SUSPENDED:
            raise exception.Interrupted(
                'Interrupted: server %s is left BUILD; `spawnflow resume` '
                'finishes the build, `spawnflow server delete %s` removes '
                'it.' % (uuid, uuid))
        return self.show(uuid, read_deleted=True)

    def _record(self, uuid, request):
        self.db.instance_create(uuid, request,
                                vm_state=instance_states.BUILDING,
                                task_state=instance_states.SCHEDULING)

    def _post_build(self, uuid, request, arguments, wait):
        self._record(uuid, request)
        posting = jobboard.new_posting()
        detail = self.engine.create(uuid, 'create', flows.FACTORIES['create'],
                                    arguments, posting=posting)
        with jobboard.translated(self.conf):
            jobboard.post(self.board, 'create', uuid, posting,
                          flow_uuid=detail.uuid)
        if wait:
            self.wait(uuid, timeout=None)
            return self.show(uuid, read_deleted=True)
        return self.show(uuid)

    def delete(self, uuid, wait=600):
        """Delete an instance: domain, attachments, disks, and the volumes
        whose delete_on_termination is set.

        A build still running is asked to stop (task_state ``deleting``:
        it reverts at its next step) and waited for, up to ``wait``
        seconds; a flow that a crash, an interruption or a failed revert
        left unfinished is finished first. Raises unless the instance is
        deleted (InstanceBusy when its owner did not let go in time,
        SpawnflowError with the fault when a step failed). With a job
        board, the delete is posted as a job; ``wait=0`` returns once it
        is posted.
        """
        instance = self.db.instance_get(uuid)
        if instance['vm_state'] == instance_states.BUILDING:
            try:
                self.db.instance_update(
                    uuid, {'task_state': instance_states.DELETING},
                    expected_task_state=instance_states.BUILD_TASK_STATES)
            except exception.UnexpectedTaskStateError:
                pass  # already being deleted, or its build just ended
            if self.engine.owners.holds(uuid):
                return  # called from its own build, which now reverts
        if self.board is not None:
            return self._post_delete(uuid, wait)
        with self.engine.owners.hold(uuid, wait=wait):
            state = execution.delete(self.engine, uuid)
        if state == states.SUSPENDED:
            raise exception.Interrupted(
                'Interrupted: the delete of server %s is left unfinished; '
                '`spawnflow resume` or `spawnflow server delete %s` '
                'finishes it.' % (uuid, uuid))

    def _post_delete(self, uuid, wait):
        with jobboard.translated(self.conf):
            jobboard.post(self.board, 'delete', uuid, jobboard.new_posting())
        if not wait:
            return

        def gone_or_done():
            try:
                self.db.instance_get(uuid)
            except exception.InstanceNotFound:
                return True
            with jobboard.translated(self.conf):
                return not jobboard.jobs(self.board, uuid)
        _poll(gone_or_done, wait, 'The delete of instance %s is still '
              'running after %s seconds.' % (uuid, wait))
        try:
            self.db.instance_get(uuid)
        except exception.InstanceNotFound:
            return
        raise exception.SpawnflowError(
            'Deleting instance %s failed: %s'
            % (uuid, self._fault_message(uuid) or 'its job ended'))

    def _fault_message(self, uuid):
        fault = self.db.fault_get_latest(uuid)
        return fault['message'] if fault else None

    def resume(self):
        """Finish every build and delete a crash, an interruption or a
        failed revert left unfinished, but those a live process runs.

        Returns [(instance uuid, action, final flow state)], the state
        ``IN PROGRESS`` for a flow another process runs (left alone) and
        ``OTHER HOST`` for one another host started. With a job board,
        the flows whose job is gone are posted again (``POSTED``) for the
        conductors; the others are ``QUEUED`` or ``IN PROGRESS``.
        """
        if self.board is not None:
            return self._repost() + recovery.fail_builds_without_flow(
                self.engine, self._admitted_before_grace)
        return recovery.resume_all(self.engine) + \
            recovery.fail_builds_without_flow(self.engine,
                                              self.engine.owners.hold)

    def _repost(self):
        with jobboard.translated(self.conf):
            jobs = {job.details.get('posting'): job
                    for job in jobboard.jobs(self.board)}
        reported = []
        for detail in self.engine.unfinished():
            uuid, action = (detail.meta['instance_uuid'],
                            detail.meta['action'])
            owner = self.db.flow_owner_get(detail.uuid) or {}
            job = jobs.get(owner.get('posting'))
            if job is not None:
                claimed = jobboard.owner_of(self.board, job) is not None
                reported.append((uuid, action,
                                 IN_PROGRESS if claimed else QUEUED))
                continue
            posting = jobboard.new_posting()
            if not self.db.flow_repost(detail.uuid, owner.get('posting'),
                                       posting):
                reported.append((uuid, action, IN_PROGRESS))
                continue  # another resume posted it just now
            with jobboard.translated(self.conf):
                jobboard.post(self.board, action, uuid, posting,
                              flow_uuid=detail.uuid)
            reported.append((uuid, action, POSTED))
        return reported

    @contextlib.contextmanager
    def _admitted_before_grace(self, uuid):
        """Raise InstanceBusy while the instance's admission may still be
        under way ([conductor] admission_grace)."""
        created = self.db.instance_get(uuid)['created_at']
        age = datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None) - created
        if age.total_seconds() < self.conf.conductor.admission_grace:
            raise exception.InstanceBusy(uuid, 0)
        yield

    def jobs(self):
        """The job board's jobs (jobboard.describe), oldest first."""
        if self.board is None:
            raise exception.InvalidRequest(
                'No job board is configured ([jobboard] backend).')
        with jobboard.translated(self.conf):
            return sorted((jobboard.describe(self.board, job)
                           for job in jobboard.jobs(self.board)),
                          key=lambda job: job['created_on'])

    def orphans(self):
        """Resources tagged as spawnflow's that no instance accounts for."""
        return orphans.find(self.services)

    def reap_orphans(self, dry_run=False):
        """Remove every orphan; returns what was removed (with
        ``dry_run``, what would be, removing nothing)."""
        found = orphans.find(self.services)
        if dry_run:
            return found
        return orphans.reap(self.services, self.engine.owners, found)

    def show(self, uuid, read_deleted=False):
        """The instance with its block devices and its latest fault."""
        return self.db.instance_show(uuid, read_deleted=read_deleted)

    def list(self):
        return self.db.instance_list()

    def console_log(self, uuid, lines=None):
        """The last ``lines`` lines (all: None) of the guest's console,
        printable. The log is on the instance's host: read elsewhere, it
        is refused."""
        instance = self.db.instance_get(uuid)
        if instance['host'] not in (None, self.services.host):
            raise exception.InvalidRequest(
                'The console log of server %s is on host %s; run this '
                'there.' % (uuid, instance['host']))
        return self.services.virt.console_output(uuid, lines)

    def actions(self, uuid):
        """Instance actions, each with one event per task."""
        return self.db.action_list(uuid)

    def wait(self, uuid, timeout=600):
        """Wait until the instance is no longer building (or is deleted);
        ``timeout`` None waits as long as it takes.

        Returns the instance, or None once it has been deleted.
        """
        found = []

        def settled():
            try:
                instance = self.db.instance_get(uuid)
            except exception.InstanceNotFound:
                instance = None
            found[:] = [instance]
            return instance is None or (
                instance['vm_state'] != instance_states.BUILDING
                and not instance['task_state'])
        _poll(settled, timeout, 'Instance %s is still busy after %s seconds.'
              % (uuid, timeout))
        return found[0]

    # Images -------------------------------------------------------------

    def image_create(self, name, file_path, disk_format):
        return self.services.image.create(name, file_path, disk_format)

    def image_list(self):
        return self.services.image.list()

    def image_show(self, image_id):
        return self.services.image.show(image_id)

    def image_delete(self, image_id):
        self.services.image.delete(image_id)

    def image_cache_list(self):
        """Cached bases, each with its image id and live users."""
        return self.services.image_cache.entries(self.db)

    def image_cache_clean(self, dry_run=False):
        """Remove bases unused by live instances for
        remove_unused_original_minimum_age_seconds; returns them."""
        return self.services.image_cache.clean(
            self.db, self.conf.remove_unused_original_minimum_age_seconds,
            dry_run=dry_run)

    # Volumes and snapshots ---------------------------------------------

    def volume_create(self, name, size, image=None, snapshot=None):
        """A volume of ``size`` GiB, blank or from an image or a snapshot
        (IDs), checked before anything is made. It carries no spawnflow
        tags: it is the user's, never an orphan."""
        objects.validate_name(name)
        size = objects.volume_size(size)
        if image is not None and snapshot is not None:
            raise exception.InvalidRequest(
                'Give an image or a snapshot to create a volume from, not '
                'both.')
        largest = self.services.volume.limits()['max_volume_gb']
        if largest is not None and size > largest:
            raise exception.InvalidRequest(
                'A volume of %d GiB is larger than the volume service '
                'takes (%d GiB).' % (size, largest))
        if image is not None:
            needed = self.services.image.show(image)['virtual_size'] or 0
            what = 'Image %s needs %d bytes' % (image, needed)
        elif snapshot is not None:
            needed = self.services.volume.snapshot_get(snapshot)['size']
            what = 'Snapshot %s is %d GiB' % (snapshot, needed)
            needed *= 1024 ** 3
        else:
            needed = 0
        if needed > size * 1024 ** 3:
            raise exception.InvalidRequest(
                '%s; a volume of %d GiB is too small.' % (what, size))
        return self.services.volume.create(name, size, {}, image_id=image,
                                           snapshot_id=snapshot)

    def volume_delete(self, volume_id):
        """Delete a volume no live instance uses: one kept after its
        server was deleted (delete_on_termination false), or made by
        volume_create."""
        volume = self.services.volume.get(volume_id)
        bdm = self.db.bdm_using_volume(volume_id)
        if bdm is not None:
            raise exception.InvalidRequest(
                'Volume %s is %s of server %s; delete the server first.'
                % (volume_id, bdm['device_name'], bdm['instance_uuid']))
        if volume['status'] != 'available' and not \
                volume['status'].startswith('error'):
            raise exception.InvalidRequest(
                'Volume %s is %s; only an available volume or one in error '
                'can be deleted.' % (volume_id, volume['status']))
        self.services.volume.delete(volume_id)


def _poll(condition, timeout, message):
    """Poll ``condition`` with capped backoff until it holds; raise
    SpawnflowError(message) after ``timeout`` seconds (None: never)."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda held: not held),
        wait=tenacity.wait_exponential(multiplier=0.05, max=1),
        stop=(tenacity.stop_never if timeout is None
              else tenacity.stop_after_delay(timeout)))
    try:
        retrying(condition)
    except tenacity.RetryError:
        raise exception.SpawnflowError(message)

"""Errors spawnflow raises. Each carries one clear, user-facing message."""


class SpawnflowError(Exception):
    """Base class; ``str(err)`` is the message shown to a user."""

    code = 500


class InvalidRequest(SpawnflowError):
    """The request breaks a rule; nothing was created."""

    code = 400


class NotFound(SpawnflowError):
    code = 404


class InstanceNotFound(NotFound):
    def __init__(self, uuid):
        super().__init__('Instance %s could not be found.' % uuid)


class ImageNotFound(NotFound):
    def __init__(self, image_id):
        super().__init__('Image %s could not be found.' % image_id)


class VolumeNotFound(NotFound):
    def __init__(self, volume_id):
        super().__init__('Volume %s could not be found.' % volume_id)


class SnapshotNotFound(NotFound):
    def __init__(self, snapshot_id):
        super().__init__('Snapshot %s could not be found.' % snapshot_id)


class FlavorNotFound(NotFound):
    def __init__(self, name):
        super().__init__('Flavor %s could not be found.' % name)


class UnexpectedTaskStateError(SpawnflowError):
    """A compare-and-swap save found another task state (e.g. deleting)."""

    code = 409

    def __init__(self, uuid, expected, actual):
        self.expected = expected
        self.actual = actual
        super().__init__(
            'Instance %s: expected task_state %s but found %s.'
            % (uuid, ', '.join(str(e) for e in expected), actual))


class InstanceBusy(SpawnflowError):
    """Another live process runs a flow of the instance."""

    code = 409

    def __init__(self, uuid, waited):
        super().__init__(
            'Instance %s is being built or deleted by another process%s.'
            % (uuid, ' (waited %s seconds for it)' % waited if waited
               else ''))


class ClaimLost(SpawnflowError):
    """Another owner took the flow over (this one was paused, partitioned
    or too slow to keep its claim alive): it must stop touching it."""

    code = 409

    def __init__(self, flow_uuid, owner):
        super().__init__('%s no longer owns flow %s: another owner took it '
                         'over.' % (owner, flow_uuid))


class Interrupted(SpawnflowError):
    """The user interrupted a flow; it stopped at a task boundary and is
    left for ``spawnflow resume``."""

    code = 130


class ClaimFailed(SpawnflowError):
    code = 409


class VolumeNotCreated(SpawnflowError):
    def __init__(self, volume_id, seconds, attempts, status):
        super().__init__(
            'Volume %s did not finish being created even after we waited '
            '%.1f seconds or %d attempts. Its status is %s.'
            % (volume_id, seconds, attempts, status))


class VolumeError(SpawnflowError):
    pass


class ServiceUnavailable(SpawnflowError):
    """A service failed in a way that may pass: it could not be reached,
    the connection broke or timed out, it answered 5xx, or the database
    was busy. Idempotent calls are retried on it; once the retries are
    spent, it is raised with what happened last."""

    code = 503

    def __init__(self, service, reason):
        self.service = service
        self.reason = reason
        super().__init__('%s: %s' % (service, reason))


class DatabaseError(SpawnflowError):
    """The database cannot be used; the message names it (no password)."""


class SchemaMissing(DatabaseError):
    def __init__(self, url):
        super().__init__(
            'The database %s has no spawnflow tables: run `spawnflow db '
            'sync`.' % url)


class ImageError(SpawnflowError):
    pass


class ImageChecksumMismatch(ImageError):
    def __init__(self, image_id, algorithm, expected, actual):
        super().__init__(
            'Image %s failed checksum verification: expected %s %s, got %s.'
            % (image_id, algorithm, expected, actual))


class InvalidConfig(SpawnflowError):
    """A configuration value this deployment cannot work with."""


class VirtError(SpawnflowError):
    pass


class GuestNotBooted(VirtError):
    """The guest never printed its boot marker."""


class FlowChanged(SpawnflowError):
    """A saved flow's tasks are not the ones this code's flow has."""

    def __init__(self, action, saved_only, code_only):
        parts = []
        if saved_only:
            parts.append('saved tasks this code lacks: %s'
                         % ', '.join(saved_only))
        if code_only:
            parts.append('tasks the saved flow lacks: %s'
                         % ', '.join(code_only))
        super().__init__(
            'The saved %s flow no longer matches this version of spawnflow '
            '(%s); everything it may have done is reverted.'
            % (action, '; '.join(parts) or 'its flow factory is gone'))

"""The build flow: Nova's build_and_run_instance as revertible tasks.

::

    mark-building -> claim-resources -> task-state-block-device-mapping
      -> block devices, in parallel, each:
             create-volume-N -> wait-volume-available-N -> attach-volume-N
      -> task-state-spawning -> create-config-drive
      -> fetch-image -> create-root-disk            (image->local only)
      -> build-guest-config -> define-domain -> start-domain
      -> wait-for-running -> wait-for-boot -> mark-active

A failure anywhere reverts the completed tasks in reverse order; the first
task's revert marks the instance ERROR with a fault.
"""

from taskflow.patterns import linear_flow
from taskflow.patterns import unordered_flow

from spawnflow import instance_states as states
from spawnflow.tasks import claims
from spawnflow.tasks import compute
from spawnflow.tasks import image
from spawnflow.tasks import lifecycle
from spawnflow.tasks import volume


def _block_device_flow(bdm_index, source_type):
    flow = linear_flow.Flow('block-device-%d' % bdm_index)
    if source_type != 'volume':
        flow.add(volume.CreateVolume(bdm_index),
                 volume.WaitVolumeAvailable(bdm_index))
    flow.add(volume.AttachVolume(bdm_index))
    return flow


def get_build_flow(instance_uuid, block_devices):
    """The flow that builds ``instance_uuid``.

    ``block_devices`` lists each mapping's (index, source, destination), the
    plain data the flow's shape depends on; it is saved in the logbook so a
    resumed build has the same shape.
    """
    flow = linear_flow.Flow('build-%s' % instance_uuid)
    flow.add(lifecycle.MarkBuilding(),
             claims.ClaimResources(),
             lifecycle.UpdateTaskState(states.BLOCK_DEVICE_MAPPING,
                                       expected=states.SCHEDULING))
    volumes = unordered_flow.Flow('block-devices')
    for bdm_index, source_type, destination_type in block_devices:
        if destination_type == 'volume':
            volumes.add(_block_device_flow(bdm_index, source_type))
    if len(volumes):
        flow.add(volumes)
    flow.add(lifecycle.UpdateTaskState(states.SPAWNING,
                                       expected=states.BLOCK_DEVICE_MAPPING),
             compute.CreateConfigDrive())
    if any(dest == 'local' for _, _, dest in block_devices):
        flow.add(image.FetchImage(), image.CreateRootDisk())
    flow.add(compute.BuildGuestConfig(),
             compute.DefineDomain(),
             compute.StartDomain(),
             compute.WaitForRunning(),
             compute.WaitForBoot(),
             lifecycle.MarkActive())
    return flow

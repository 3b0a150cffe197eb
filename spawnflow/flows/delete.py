"""The delete flow: tear an instance down, keeping what the user keeps.

::

    mark-deleting -> destroy-domain
      -> volumes, in parallel, each: detach-volume-N -> delete-volume-N
      -> delete-instance-files -> release-resources -> mark-deleted

delete-volume-N deletes only volumes whose mapping has
delete_on_termination set; the others are detached and left available.
"""

from taskflow.patterns import linear_flow
from taskflow.patterns import unordered_flow

from spawnflow.tasks import claims
from spawnflow.tasks import compute
from spawnflow.tasks import image
from spawnflow.tasks import lifecycle
from spawnflow.tasks import volume


def get_delete_flow(instance_uuid, block_devices):
    flow = linear_flow.Flow('delete-%s' % instance_uuid)
    flow.add(lifecycle.MarkDeleting(), compute.DestroyDomain())
    volumes = unordered_flow.Flow('volumes')
    for bdm_index, _source, destination_type in block_devices:
        if destination_type == 'volume':
            volumes.add(linear_flow.Flow('volume-%d' % bdm_index).add(
                volume.DetachVolume(bdm_index),
                volume.DeleteVolume(bdm_index)))
    if len(volumes):
        flow.add(volumes)
    flow.add(image.DeleteInstanceFiles(),
             claims.ReleaseResources(),
             lifecycle.MarkDeleted())
    return flow

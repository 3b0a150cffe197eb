"""Flow factories: module-level functions TaskFlow re-imports on resume.

``FACTORIES`` is the one map of which factory builds each action's flow;
every factory takes the instance uuid and its block devices' shape.
"""

from spawnflow.flows import build
from spawnflow.flows import delete

#: The flow factory of each action, as this code builds it.
FACTORIES = {'create': build.get_build_flow,
             'delete': delete.get_delete_flow}


def mapping_shape(mappings):
    """(index, source, destination) of each BlockDeviceMapping."""
    return [(index, bdm.source_type, bdm.destination_type)
            for index, bdm in enumerate(mappings)]


def block_device_shape(db, instance_uuid):
    """Each mapping's (index, source, destination) as recorded: the plain
    data a flow's shape depends on."""
    return [(bdm['bdm_index'], bdm['source_type'], bdm['destination_type'])
            for bdm in db.bdm_list(instance_uuid)]


def factory_arguments(db, instance_uuid):
    """The arguments every factory takes, from what the database holds."""
    return {'instance_uuid': instance_uuid,
            'block_devices': block_device_shape(db, instance_uuid)}

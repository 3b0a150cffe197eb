"""Flow factories: module-level functions TaskFlow re-imports on resume."""


def block_device_shape(db, instance_uuid):
    """Each mapping's (index, source, destination) as recorded: the plain
    data a flow's shape depends on."""
    return [(bdm['bdm_index'], bdm['source_type'], bdm['destination_type'])
            for bdm in db.bdm_list(instance_uuid)]

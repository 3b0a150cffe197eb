"""Column formatting shared by the commands."""

from cliff import columns

from spawnflow import instance_states as states


class BlockDevicesColumn(columns.FormattableColumn):
    """One line per block device for tables; the full rows for json."""

    def human_readable(self):
        return '\n'.join(
            '%s: %s->%s%s%s' % (
                b['device_name'], b['source_type'], b['destination_type'],
                ' volume=%s' % b['volume_id'] if b['volume_id'] else '',
                ' attachment=%s' % b['attachment_id']
                if b['attachment_id'] else '')
            for b in self._value)

    def machine_readable(self):
        return [{key: value for key, value in b.items()
                 if key not in ('id', 'created_at', 'updated_at')}
                for b in self._value]


def server_fields(instance):
    """(columns, values) for ``server show`` and ``server create``."""
    fault = instance.get('fault')
    fields = {
        'id': instance['uuid'],
        'name': instance['display_name'],
        'status': states.status(instance['vm_state']),
        'task_state': instance['task_state'],
        'host': instance['host'],
        'flavor': '%s (vcpus=%d, ram=%d MiB, disk=%d GiB)' % (
            instance['flavor_name'], instance['vcpus'],
            instance['memory_mb'], instance['root_gb']),
        'image': instance['image_ref'] or '',
        'block_devices': BlockDevicesColumn(instance['block_devices']),
        'created': instance['created_at'].isoformat(timespec='seconds'),
        'launched': (instance['launched_at'].isoformat(timespec='seconds')
                     if instance['launched_at'] else None),
        'fault': fault['message'] if fault else None,
    }
    return tuple(fields), tuple(fields.values())

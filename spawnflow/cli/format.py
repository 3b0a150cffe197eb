"""Column formatting shared by the commands."""

from cliff import columns

from spawnflow import instance_states as states


def timestamp(value):
    """A database time as ISO 8601 to the second (None stays None)."""
    return value.isoformat(timespec='seconds') if value else None


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


class EventsColumn(columns.FormattableColumn):
    """An action's events: a line each for tables; dicts for json."""

    def human_readable(self):
        return '\n'.join(
            '%s: %s (%s, %s -> %s)' % (
                e['event'], e['result'] or 'running', e['host'],
                timestamp(e['start_time']), timestamp(e['finish_time']))
            for e in self._value)

    def machine_readable(self):
        return [{'event': e['event'], 'result': e['result'],
                 'owner': e['host'],
                 'start_time': timestamp(e['start_time']),
                 'finish_time': timestamp(e['finish_time']),
                 'details': e['details']}
                for e in self._value]


class DictColumn(columns.FormattableColumn):
    """A dict as OpenStackClient's DictColumn shows it: key='value', ...
    in sorted order for tables; the dict for json. (osc-lib's own imports
    openstacksdk, a quarter of a second on every command.)"""

    def human_readable(self):
        return ', '.join("%s='%s'" % (key, '' if value is None else value)
                         for key, value in sorted(self._value.items()))

    def machine_readable(self):
        return dict(self._value)


def fault_column(fault):
    """The fault as Nova's server show has it (code, created, message,
    details: masked of secrets when they were stored), or None."""
    if fault is None:
        return None
    return DictColumn({
        'code': fault['code'], 'created': timestamp(fault['created_at']),
        'message': fault['message'], 'details': fault['details']})


def server_fields(instance):
    """(columns, values) for ``server show`` and ``server create``."""
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
        'created': timestamp(instance['created_at']),
        'launched': timestamp(instance['launched_at']),
        'fault': fault_column(instance.get('fault')),
    }
    return tuple(fields), tuple(fields.values())

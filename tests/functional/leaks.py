"""What a build leaves in the world: the set a leak check compares."""

import os


def _files(top):
    """Files and directories under ``top``, but for lock files and the
    image cache's ``_base/`` directory itself (its files count)."""
    found = set()
    if not os.path.isdir(top):
        return found
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = [d for d in subdirs if d != 'locks']
        found.update(os.path.relpath(os.path.join(directory, name), top)
                     for name in files)
        found.update(os.path.relpath(os.path.join(directory, d), top) + '/'
                     for d in subdirs if d != '_base')
    return found


def snapshot(client):
    """Domains, volume files and records, attachments, disks, cache."""
    services = client.services
    return {
        'domains': {d['uuid'] for d in services.virt.list_instances()},
        'volume_files': _files(services.volume.path),
        'attachments': {(v['id'], a['instance_uuid'], a['status'])
                        for v in services.volume.list()
                        for a in v['attachments']},
        'volume_status': {v['id']: v['status']
                          for v in services.volume.list()},
        'instance_files': _files(client.conf.instances_path),
    }

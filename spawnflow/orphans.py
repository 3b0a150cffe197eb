"""Resources tagged as spawnflow's that no instance in the database accounts
for: what a crash (or a bug) can leave behind, found and removed.

What counts as accounted for:

- a domain, an instance directory: the instance exists and is not deleted;
- a volume tagged with an instance uuid: some block device mapping records
  it (also a deleted instance's, whose volume was kept by design), or its
  instance is still building (its id may not be saved yet), or it is being
  deleted;
- an attachment of a spawnflow volume: a block device mapping records it;
- a temporary download or disk file (``.*.part``): less than an hour old
  (younger ones may belong to a download in progress).
"""

import dataclasses
import os
import shutil
import time

from spawnflow.drivers.volume import base as volume_base
from spawnflow import exception

PART_MAX_AGE = 3600


@dataclasses.dataclass(frozen=True)
class Orphan:
    kind: str       # domain, volume, attachment, instance-files, partial-file
    id: str
    instance_uuid: str | None
    detail: str = ''


def find(services):
    """Every orphan, in the order they should be reaped."""
    db = services.db
    instances = {i['uuid']: i for i in db.instance_list(read_deleted=True)}
    live = {uuid for uuid, i in instances.items() if not i['deleted']}
    building = {uuid for uuid, i in instances.items()
                if not i['deleted'] and i['vm_state'] == 'building'}
    bdms = [b for uuid in instances for b in db.bdm_list(uuid)]
    recorded_volumes = {b['volume_id'] for b in bdms if b['volume_id']}
    recorded_attachments = {b['attachment_id'] for b in bdms
                            if b['attachment_id']}
    found = []
    for domain in services.virt.list_instances():
        if domain['uuid'] not in live:
            found.append(Orphan('domain', domain['uuid'], domain['uuid'],
                                domain['name']))
    for volume in services.volume.list():
        owner = volume['metadata'].get(volume_base.INSTANCE_KEY)
        for attachment in volume['attachments']:
            if (owner or volume['id'] in recorded_volumes) and (
                    attachment['id'] not in recorded_attachments
                    and attachment['instance_uuid'] not in building):
                found.append(Orphan('attachment', attachment['id'],
                                    attachment['instance_uuid'],
                                    'of volume %s' % volume['id']))
        if owner and volume['id'] not in recorded_volumes \
                and owner not in building and volume['status'] != 'deleting':
            found.append(Orphan('volume', volume['id'], owner,
                                volume['name']))
    found += _instance_files(services.conf.instances_path, live)
    return found


def _instance_files(instances_path, live):
    found = []
    if not os.path.isdir(instances_path):
        return found
    now = time.time()
    for name in sorted(os.listdir(instances_path)):
        path = os.path.join(instances_path, name)
        if name in ('_base', 'locks'):
            continue
        if os.path.isdir(path) and name not in live:
            found.append(Orphan('instance-files', path, name))
    for directory, _dirs, files in os.walk(instances_path):
        for name in files:
            path = os.path.join(directory, name)
            if name.endswith('.part') and \
                    now - os.path.getmtime(path) > PART_MAX_AGE:
                found.append(Orphan('partial-file', path, None))
    return found


def reap(services, orphans):
    """Remove ``orphans`` (as find() returned them); idempotent."""
    for orphan in orphans:
        if orphan.kind == 'domain':
            services.virt.undefine(orphan.id)
        elif orphan.kind == 'attachment':
            services.volume.attachment_delete(orphan.id)
        elif orphan.kind == 'volume':
            try:
                attachments = services.volume.get(orphan.id)['attachments']
            except exception.VolumeNotFound:
                continue
            for attachment in attachments:
                services.volume.attachment_delete(attachment['id'])
            services.volume.delete(orphan.id)
        elif orphan.kind == 'instance-files':
            shutil.rmtree(orphan.id, ignore_errors=True)
        elif orphan.kind == 'partial-file':
            try:
                os.unlink(orphan.id)
            except FileNotFoundError:
                pass

"""Resources this deployment made that no instance in its database accounts
for: what a crash (or a bug) can leave behind, found and removed.

Only this deployment's resources are ever considered, so deployments can
share a Cinder project or a hypervisor (not an instances_path: its image
cache counts the users of a base in its own database only):

- domains and volumes carry the deployment's tag (another deployment's,
  or none, is never touched);
- an attachment is this deployment's when its instance is one of the
  database's (instance rows are kept when deleted);
- an instance directory is this deployment's when it is named after one
  of the database's instances;
- a temporary file (``.*.part``) is this deployment's when it lies in one
  of those directories, or in the image cache for a base whose owner
  record names one of the database's instances.

What counts as accounted for:

- a domain, an instance directory: the instance exists and is not deleted;
- a volume: some block device mapping records it (also a deleted
  instance's, whose volume was kept by design), or its instance is still
  building (its id may not be saved yet), or it is being deleted;
- an attachment: a block device mapping records it, or its instance is
  still building;
- a temporary file: less than an hour old (younger ones may belong to a
  download in progress).
"""

import contextlib
import dataclasses
import glob
import os
import shutil
import time

from spawnflow.drivers.volume import base as volume_base
from spawnflow import exception
from spawnflow import instance_states as states

PART_MAX_AGE = 3600


@dataclasses.dataclass(frozen=True)
class Orphan:
    kind: str       # domain, volume, attachment, instance-files, partial-file
    id: str
    instance_uuid: str | None
    detail: str = ''


def find(services):
    """Every orphan, in the order they should be reaped.

    The hypervisor's, the volume service's and the instances path's
    resources are listed before the database is read: an instance recorded
    after that read made its resources after the listing, so they cannot
    be taken for orphans. Only the instances and block device mappings
    those resources name are read, so the cost follows what exists, not
    every build ever recorded.
    """
    db = services.db
    deployment = services.deployment
    domains = [domain for domain in services.virt.list_instances()
               if domain['deployment'] == deployment]
    volumes = services.volume.list()
    tagged = {volume['id']: volume for volume in volumes
              if volume['metadata'].get(volume_base.DEPLOYMENT_KEY)
              == deployment}
    attachments = [attachment for volume in volumes
                   for attachment in volume['attachments']]
    directories = services.virt.instance_dirs()
    downloads = services.image_cache.partial_downloads()

    named = ({domain['uuid'] for domain in domains}
             | {attachment['instance_uuid'] for attachment in attachments}
             | {volume['metadata'].get(volume_base.INSTANCE_KEY)
                for volume in tagged.values()}
             | set(directories) | {owner for _, owner in downloads})
    instances = db.instance_get_many(named - {None})
    live = {uuid for uuid, i in instances.items() if not i['deleted']}
    building = {uuid for uuid in live
                if instances[uuid]['vm_state'] == states.BUILDING}
    recorded_volumes = db.bdm_recorded('volume_id', list(tagged))
    recorded_attachments = db.bdm_recorded(
        'attachment_id', [attachment['id'] for attachment in attachments])

    found = []
    for domain in domains:
        if domain['uuid'] not in live:
            found.append(Orphan('domain', domain['uuid'], domain['uuid'],
                                domain['name']))
    for volume in volumes:
        for attachment in volume['attachments']:
            if (attachment['instance_uuid'] in instances
                    and attachment['instance_uuid'] not in building
                    and attachment['id'] not in recorded_attachments):
                found.append(Orphan('attachment', attachment['id'],
                                    attachment['instance_uuid'],
                                    'of volume %s' % volume['id']))
        if volume['id'] in tagged:
            owner = volume['metadata'].get(volume_base.INSTANCE_KEY)
            if (volume['id'] not in recorded_volumes
                    and owner not in building
                    and volume['status'] != 'deleting'):
                found.append(Orphan('volume', volume['id'], owner,
                                    volume['name']))
    found += _instance_files(services, directories, downloads, instances,
                             live)
    return found


def _instance_files(services, directories, downloads, instances, live):
    found = []
    for uuid in sorted(directories):
        if uuid in instances and uuid not in live:
            found.append(Orphan('instance-files',
                                services.virt.instance_dir(uuid), uuid))
    now = time.time()
    for path in sorted(_partial_files(services, downloads, instances,
                                      live)):
        try:
            old = now - os.path.getmtime(path) > PART_MAX_AGE
        except FileNotFoundError:  # finished or removed meanwhile
            continue
        if old:
            found.append(Orphan('partial-file', path, None))
    return found


def _partial_files(services, downloads, instances, live):
    """Temporary files in the live instances' directories (the others'
    go with their directory), and in the cache for bases this
    deployment's instances fetched (``downloads``: the cache's partial
    downloads with their owners)."""
    for uuid in live:
        yield from glob.glob(os.path.join(services.virt.instance_dir(uuid),
                                          '**', '*.part'), recursive=True,
                             include_hidden=True)
    for path, owner in downloads:
        if owner in instances:
            yield path


def reap(services, owners, orphans):
    """Remove ``orphans`` (as find() returned them); idempotent.

    Each is removed holding its instance's owner lock (one a live process
    runs a flow of is left alone) and only if a fresh look still finds it
    an orphan: the instance may have changed since find(). Returns those
    removed.
    """
    removed = []
    for orphan in orphans:
        uuid = orphan.instance_uuid
        try:
            with owners.hold(uuid) if uuid else contextlib.nullcontext():
                if orphan in find(services):
                    _remove(services, orphan)
                    removed.append(orphan)
        except exception.InstanceBusy:
            continue
    return removed


def _remove(services, orphan):
    if orphan.kind == 'domain':
        services.virt.undefine(orphan.id)
    elif orphan.kind == 'attachment':
        services.volume.attachment_delete(orphan.id)
    elif orphan.kind == 'volume':
        try:
            attachments = services.volume.get(orphan.id)['attachments']
        except exception.VolumeNotFound:
            return
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

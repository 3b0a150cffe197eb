"""Servers, images, volumes and snapshots by name or ID, as OpenStackClient
finds them: an exact ID always wins, then a name that only one carries."""

from spawnflow import exception
from spawnflow import objects


def find(kind, ref, get, candidates, name_key='name', id_key='id'):
    """The resource ``get(ref)`` returns, else the one of ``candidates()``
    named ``ref``.

    ``get`` raises NotFound for an unknown ID; that error is raised when no
    name matches either. A name several carry is refused, listing their IDs.
    """
    try:
        return get(ref)
    except exception.NotFound as not_found:
        missing = not_found
    named = [c for c in candidates() if c.get(name_key) == ref]
    if not named:
        raise missing
    if len(named) > 1:
        raise exception.InvalidRequest(
            'More than one %s exists with the name %r (%s); give its ID.'
            % (kind, ref, ', '.join(sorted(c[id_key] for c in named))))
    return named[0]


def server(db, ref, read_deleted=False):
    """The instance (a dict with ``uuid``) named or identified by ``ref``,
    read from ``db`` (a Client's or a read-only Reader's)."""
    return find('server', ref,
                lambda uuid: db.instance_get(uuid, read_deleted=read_deleted),
                lambda: db.instance_list(read_deleted=read_deleted),
                name_key='display_name', id_key='uuid')


def server_id(db, ref, read_deleted=False):
    """The UUID of the instance named or identified by ``ref``."""
    return server(db, ref, read_deleted)['uuid']


def image(client, ref):
    """The image's metadata; http(s) URLs are not looked up: use image_ref."""
    return find('image', ref, client.image_show, client.image_list)


def image_ref(client, ref):
    """``ref`` as a build takes it: an http(s) URL as given, else the ID
    of the image it names."""
    if ref is None or ref.startswith(objects.IMAGE_URL_PREFIXES):
        return ref
    return image(client, ref)['id']


def volume(client, ref):
    volumes = client.services.volume
    return find('volume', ref, volumes.get, volumes.list)


def snapshot(client, ref):
    volumes = client.services.volume
    return find('snapshot', ref, volumes.snapshot_get, volumes.snapshot_list)


def block_device_refs(client, block_devices):
    """Each dict of ``--block-device`` request keys with its uuid= name
    replaced by the ID of what it names (an image, volume or snapshot)."""
    id_of = {'image': image_ref,
             'volume': lambda client, ref: volume(client, ref)['id'],
             'snapshot': lambda client, ref: snapshot(client, ref)['id']}
    resolved = []
    for values in block_devices:
        source = objects.BlockDeviceMapping.given(values, 'source_type')
        if source in id_of and values.get('uuid'):
            values = dict(values, uuid=id_of[source](client, values['uuid']))
        resolved.append(values)
    return resolved

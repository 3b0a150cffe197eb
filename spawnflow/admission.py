"""Admission: a build request validated, and checked against what this
deployment can build, before anything is recorded.

The request's values are parsed strictly (objects); then a flavor larger
than the whole host, volumes larger than the volume service takes or
than its quota leaves, and images, volumes or snapshots that cannot be
used are refused, each with one clear message. (A host that is only full
right now fails the build's claim instead.)
"""

from spawnflow import drivers
from spawnflow import exception
from spawnflow import flows
from spawnflow import objects
from spawnflow.tasks import claims


def admit(services, name, flavor, image, block_devices, vcpus, ram, disk,
          user_data=None, network_config=None):
    """The BuildRequest for these Client.build() arguments, or an
    InvalidRequest (or NotFound) saying what is wrong."""
    request = objects.BuildRequest(
        name=name, flavor=_flavor(flavor, vcpus, ram, disk),
        image_ref=image, block_device_mappings=_block_devices(block_devices),
        user_data=user_data, network_config=network_config)
    _check(services, request)
    return request


def block_device_shape(image, block_devices):
    """The build flow's shape for these Client.build() arguments (each
    mapping's (index, source, destination)), parsed and checked as a
    build's are; nothing is looked up."""
    return flows.mapping_shape(objects.resolve_block_devices(
        image, _block_devices(block_devices)))


def _check(services, request):
    """What this deployment can never build is refused."""
    _check_flavor_fits(services, request)
    _check_volume_sizes(services, request)
    _check_references(services, request)


def _check_flavor_fits(services, request):
    capacity = claims.host_capacity(services)
    flavor = request.flavor
    wanted = {'vcpus': flavor.vcpus, 'memory_mb': flavor.memory_mb,
              'local_gb': flavor.root_gb if any(
                  not b.is_volume
                  for b in request.block_device_mappings) else 0}
    for resource, amount in wanted.items():
        if amount > capacity[resource]:
            raise exception.InvalidRequest(
                'The flavor asks for %d %s; host %s has %d in all '
                '(after reservations and allocation ratios).'
                % (amount, resource, services.host,
                   capacity[resource]))


def _check_volume_sizes(services, request):
    sizes = [b.volume_size for b in request.block_device_mappings
             if b.is_volume and b.volume_size]
    if not sizes:
        return
    limits = services.volume.limits()
    largest = limits['max_volume_gb']
    if largest is not None and max(sizes) > largest:
        raise exception.InvalidRequest(
            'A volume of %d GiB is larger than the volume service '
            'takes (%d GiB).' % (max(sizes), largest))
    free = limits['free_gb']
    if free is not None and sum(sizes) > free:
        raise exception.InvalidRequest(
            'The volumes ask for %d GiB; the volume quota leaves %d '
            'GiB.' % (sum(sizes), free))
    free = limits['free_volumes']
    if free is not None and len(sizes) > free:
        raise exception.InvalidRequest(
            'The request makes %d volumes; the volume quota leaves %d.'
            % (len(sizes), free))


def _check_references(services, request):
    """Images, volumes and snapshots the request names must be usable."""
    for bdm in request.block_device_mappings:
        if bdm.source_type == 'image':
            if bdm.destination_type == 'volume' and bdm.uuid.startswith(
                    drivers.ImageRouter.URL_PREFIXES):
                raise exception.InvalidRequest(
                    'Images given as URLs can only be the root disk '
                    '(--image), not the source of a volume.')
            image = services.image.show(bdm.uuid)
            if image['status'] != 'active':
                raise exception.InvalidRequest(
                    'Image %s is %s, not active.'
                    % (bdm.uuid, image['status']))
            size_gb = (request.flavor.root_gb if bdm.destination_type
                       == 'local' else bdm.volume_size)
            if (image['virtual_size'] is not None
                    and image['virtual_size'] > size_gb * 1024 ** 3):
                raise exception.InvalidRequest(
                    'Image %s needs %d bytes; the %s of %d GiB is too '
                    'small.' % (bdm.uuid, image['virtual_size'],
                                'flavor disk' if bdm.destination_type
                                == 'local' else 'volume', size_gb))
        elif bdm.source_type == 'volume':
            volume = services.volume.get(bdm.uuid)
            if volume['status'] != 'available':
                raise exception.InvalidRequest(
                    'Volume %s is %s, not available.'
                    % (bdm.uuid, volume['status']))
        elif bdm.source_type == 'snapshot':
            services.volume.snapshot_get(bdm.uuid)


def _flavor(flavor, vcpus, ram, disk):
    custom = (vcpus, ram, disk)
    if flavor is not None and any(v is not None for v in custom):
        raise exception.InvalidRequest(
            'Give a flavor or --vcpus/--ram/--disk, not both.')
    if isinstance(flavor, objects.Flavor):
        return objects.Flavor(flavor.name, flavor.vcpus, flavor.memory_mb,
                              flavor.root_gb)  # validated again
    if isinstance(flavor, str):
        return objects.Flavor.named(flavor)
    if flavor is not None:
        raise exception.InvalidRequest(
            'flavor must be a flavor name or a Flavor, not %r.' % (flavor,))
    if any(v is None for v in custom):
        raise exception.InvalidRequest(
            'Give a flavor, or all of --vcpus, --ram and --disk.')
    return objects.Flavor('custom', vcpus, ram, disk)


def _block_devices(values):
    """BlockDeviceMappings from ``--block-device`` strings, dicts or
    BlockDeviceMappings (whose fields are validated again)."""
    if not isinstance(values, (list, tuple)):
        raise exception.InvalidRequest(
            'block_devices must be a list, not %r.' % (values,))
    if len(values) > objects.MAX_BLOCK_DEVICES:
        raise exception.InvalidRequest(
            'At most %d block devices are allowed.'
            % objects.MAX_BLOCK_DEVICES)
    mappings = []
    for value in values:
        if isinstance(value, objects.BlockDeviceMapping):
            value = {key: item for key, item in value.to_dict().items()
                     if key != 'device_name'}
        if isinstance(value, str):
            mappings.append(objects.BlockDeviceMapping.parse(value))
        else:
            mappings.append(objects.BlockDeviceMapping.from_request(value))
    return mappings

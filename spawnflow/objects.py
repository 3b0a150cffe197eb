"""Plain, serialisable value types for a build request, validated with Nova's
rules before anything is created.

Everything here converts to and from plain dicts, so it can sit in the
TaskFlow store and in the database without carrying live objects.
"""

import dataclasses
import string
import unicodedata

from spawnflow import exception

#: Nova's historic default flavors.
DEFAULT_FLAVORS = {
    'm1.tiny': (1, 512, 1),
    'm1.small': (1, 2048, 20),
    'm1.medium': (2, 4096, 40),
    'm1.large': (4, 8192, 80),
    'm1.xlarge': (8, 16384, 160),
}

SOURCE_TYPES = ('image', 'blank', 'snapshot', 'volume')
DESTINATION_TYPES = ('local', 'volume')
#: (source, destination) pairs spawnflow builds; Nova's matrix minus
#: blank->local (ephemeral and swap disks are not supported yet).
SUPPORTED_MAPPINGS = {
    ('image', 'local'), ('image', 'volume'), ('blank', 'volume'),
    ('snapshot', 'volume'), ('volume', 'volume'),
}
MAX_NAME_LENGTH = 255


def _positive_int(value, what):
    """Return ``value`` as an int > 0, or refuse it naming ``what``."""
    if isinstance(value, bool):
        raise exception.InvalidRequest(
            '%s must be an integer, not %r.' % (what, value))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise exception.InvalidRequest(
            '%s must be an integer, not %r.' % (what, value))
    if number <= 0:
        raise exception.InvalidRequest(
            '%s must be a positive integer, not %s.' % (what, value))
    return number


def _parse_bool(value, what):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', 'yes', '1', 'on'):
        return True
    if text in ('false', 'no', '0', 'off'):
        return False
    raise exception.InvalidRequest('%s must be true or false, not %r.'
                                   % (what, value))


def validate_name(name):
    """Refuse empty, over-long or control-character names.

    Markup characters (``<``, ``&``, quotes) are allowed: the domain XML is
    built with an XML library, which escapes them.
    """
    if not isinstance(name, str) or not name.strip():
        raise exception.InvalidRequest('Name must not be empty.')
    if len(name) > MAX_NAME_LENGTH:
        raise exception.InvalidRequest(
            'Name is %d characters long; the limit is %d.'
            % (len(name), MAX_NAME_LENGTH))
    for char in name:
        category = unicodedata.category(char)
        if category.startswith('C') or category in ('Zl', 'Zp'):
            raise exception.InvalidRequest(
                'Name must not contain control characters or line breaks '
                '(found %r).' % char)
    return name


@dataclasses.dataclass(frozen=True)
class Flavor:
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int

    def __post_init__(self):
        for field, what in (('vcpus', 'vcpus'), ('memory_mb', 'ram'),
                            ('root_gb', 'disk')):
            object.__setattr__(self, field,
                               _positive_int(getattr(self, field), what))

    @classmethod
    def named(cls, name):
        try:
            vcpus, memory_mb, root_gb = DEFAULT_FLAVORS[name]
        except KeyError:
            raise exception.FlavorNotFound(name)
        return cls(name, vcpus, memory_mb, root_gb)

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class BlockDeviceMapping:
    source_type: str
    destination_type: str
    uuid: str | None = None
    volume_size: int | None = None
    boot_index: int | None = None
    delete_on_termination: bool = False
    device_name: str | None = None

    @classmethod
    def parse(cls, spec):
        """Parse ``key=value,...`` as given to ``--block-device``."""
        allowed = {'source', 'destination', 'size', 'uuid', 'boot-index',
                   'boot_index', 'delete-on-termination',
                   'delete_on_termination'}
        values = {}
        for item in filter(None, (p.strip() for p in spec.split(','))):
            key, sep, value = item.partition('=')
            key = key.strip()
            if not sep or key not in allowed:
                raise exception.InvalidRequest(
                    'Invalid block device item %r; expected key=value with '
                    'key one of source, destination, size, uuid, boot-index, '
                    'delete-on-termination.' % item)
            values[key.replace('-', '_')] = value.strip()
        if 'source' not in values or 'destination' not in values:
            raise exception.InvalidRequest(
                'Block device %r needs source= and destination=.' % spec)
        return cls.from_request(values)

    @classmethod
    def from_request(cls, values):
        source = values.get('source', values.get('source_type'))
        destination = values.get('destination',
                                 values.get('destination_type'))
        size = values.get('size', values.get('volume_size'))
        boot_index = values.get('boot_index')
        bdm = cls(
            source_type=source,
            destination_type=destination,
            uuid=values.get('uuid') or None,
            volume_size=(None if size in (None, '')
                         else _positive_int(size, 'Block device size')),
            boot_index=(None if boot_index in (None, '')
                        else _boot_index(boot_index)),
            delete_on_termination=_parse_bool(
                values.get('delete_on_termination', False),
                'delete-on-termination'))
        bdm.validate()
        return bdm

    def validate(self):
        if self.source_type not in SOURCE_TYPES:
            raise exception.InvalidRequest(
                'Block device source must be one of %s, not %r.'
                % (', '.join(SOURCE_TYPES), self.source_type))
        if self.destination_type not in DESTINATION_TYPES:
            raise exception.InvalidRequest(
                'Block device destination must be one of %s, not %r.'
                % (', '.join(DESTINATION_TYPES), self.destination_type))
        pair = (self.source_type, self.destination_type)
        if pair not in SUPPORTED_MAPPINGS:
            raise exception.InvalidRequest(
                'Block device mapping %s->%s is not supported; supported '
                'are %s.' % (pair + (', '.join(
                    '%s->%s' % p for p in sorted(SUPPORTED_MAPPINGS)),)))
        if self.source_type == 'blank':
            if self.uuid:
                raise exception.InvalidRequest(
                    'A blank block device takes no uuid.')
        elif not self.uuid and pair != ('image', 'local'):
            raise exception.InvalidRequest(
                'A %s block device needs uuid= naming the %s.'
                % (self.source_type, self.source_type))
        if pair in (('blank', 'volume'), ('image', 'volume')) \
                and self.volume_size is None:
            raise exception.InvalidRequest(
                'A %s->volume block device needs size= in GiB.'
                % self.source_type)
        if pair == ('image', 'local'):
            if self.volume_size is not None:
                raise exception.InvalidRequest(
                    'The size of an image->local disk comes from the '
                    'flavor; size= is not accepted.')
            if self.boot_index != 0:
                raise exception.InvalidRequest(
                    'An image->local block device must have boot index 0.')

    @property
    def is_volume(self):
        return self.destination_type == 'volume'

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        return cls(**values)


def _boot_index(value):
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise exception.InvalidRequest(
            'Boot index must be an integer, not %r.' % value)
    return index if index >= 0 else None


@dataclasses.dataclass
class BuildRequest:
    """What to build. ``validate()`` applies Nova's block-device rules."""

    name: str
    flavor: Flavor
    image_ref: str | None = None
    block_device_mappings: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        validate_name(self.name)
        self.block_device_mappings = self._with_root_disk()
        self.validate()
        self._assign_device_names()

    def _with_root_disk(self):
        """Add the image->local root disk ``--image`` implies, as Nova does."""
        bdms = list(self.block_device_mappings)
        if self.image_ref and not any(b.boot_index == 0 for b in bdms):
            bdms.insert(0, BlockDeviceMapping(
                'image', 'local', uuid=self.image_ref, boot_index=0))
        for bdm in bdms:
            if (bdm.source_type, bdm.destination_type) == ('image', 'local'):
                if not bdm.uuid:
                    bdm.uuid = self.image_ref
                if not bdm.uuid:
                    raise exception.InvalidRequest(
                        'An image->local block device needs an image.')
        return bdms

    def validate(self):
        bdms = self.block_device_mappings
        for bdm in bdms:
            bdm.validate()
        indexes = [b.boot_index for b in bdms if b.boot_index is not None]
        if 0 not in indexes:
            raise exception.InvalidRequest(
                'Nothing to boot from: give an image or a block device with '
                'boot index 0.')
        duplicates = sorted({i for i in indexes if indexes.count(i) > 1})
        if duplicates:
            raise exception.InvalidRequest(
                'Duplicate boot index %s.' % ', '.join(map(str, duplicates)))
        if sorted(indexes) != list(range(len(indexes))):
            raise exception.InvalidRequest(
                'Boot indexes must be sequential from 0, got %s.'
                % ', '.join(map(str, sorted(indexes))))

    def _assign_device_names(self):
        order = sorted(range(len(self.block_device_mappings)),
                       key=lambda i: (self.block_device_mappings[i].boot_index
                                      is None,
                                      self.block_device_mappings[i].boot_index
                                      or 0, i))
        if len(order) > len(string.ascii_lowercase):
            raise exception.InvalidRequest(
                'At most %d block devices are allowed.'
                % len(string.ascii_lowercase))
        for letter, index in zip(string.ascii_lowercase, order):
            self.block_device_mappings[index].device_name = 'vd' + letter

    def image_ids(self):
        """Every image the request names (root disk and image->volume)."""
        return sorted({b.uuid for b in self.block_device_mappings
                       if b.source_type == 'image'})

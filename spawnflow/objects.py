"""Plain, serialisable value types for a build request, validated with Nova's
rules before anything is created.

Everything here converts to and from plain dicts, so it can sit in the
TaskFlow store and in the database without carrying live objects.
"""

import argparse
import dataclasses
import logging
import re
import string
import unicodedata

from osc_lib.cli import parseractions
from oslo_utils import uuidutils

from spawnflow import exception
from spawnflow import lazy

# Only a network config needs it: not the commands that list or show.
yaml = lazy.module('yaml')

LOG = logging.getLogger(__name__)

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
IMAGE_URL_PREFIXES = ('http://', 'https://')
#: The largest integer the database's INTEGER columns hold (as Nova's
#: db.MAX_INT): counts and sizes above it are refused, whatever the
#: hypervisor or the volume service would say.
MAX_INT = 2 ** 31 - 1
#: A device name per letter, vda..vdz.
MAX_BLOCK_DEVICES = len(string.ascii_lowercase)
_DECIMAL = re.compile(r'-?[0-9]+')
_NONE_WORDS = ('', 'none')
#: Longer numbers are refused without being converted or repeated.
MAX_DIGITS_SHOWN = 20
#: The most user-data (or network-config) a request may give, in bytes:
#: Nova's limit of 65,535 (of base64 there; of the bytes themselves here).
MAX_USER_DATA_BYTES = 65535
#: cloud-init's network config versions.
NETWORK_CONFIG_VERSIONS = (1, 2)


def _count(value, what, minimum=1, maximum=MAX_INT):
    """``value`` as an int within [minimum, maximum], or refuse it naming
    ``what``.

    Strings must be plain decimal ASCII digits: Python's int() would also
    take ``1_0``, ``+1`` and other scripts' digits, which a user typing a
    size does not mean.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        text = value.strip()
        if len(text.lstrip('-0')) > MAX_DIGITS_SHOWN:
            # Far out of range: not worth converting (or echoing whole).
            raise exception.InvalidRequest(
                '%s must be at most %d, not a number of %d digits.'
                % (what, maximum, len(text.lstrip('-'))))
        number = int(text)
    else:
        raise exception.InvalidRequest(
            '%s must be an integer, not %r.' % (what, value))
    if number < minimum:
        raise exception.InvalidRequest(
            '%s must be %s, not %s.'
            % (what, 'a positive integer' if minimum == 1
               else 'at least %d' % minimum, number))
    if number > maximum:
        raise exception.InvalidRequest(
            '%s must be at most %d, not %s.' % (what, maximum, number))
    return number


def volume_size(value):
    """A volume size in GiB, given as an int or decimal digits."""
    return _count(value, 'Volume size')


def _parse_bool(value, what):
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ('true', 'yes', '1', 'on'):
        return True
    if text in ('false', 'no', '0', 'off'):
        return False
    raise exception.InvalidRequest('%s must be true or false, not %r.'
                                   % (what, value))


def _text(value, what, max_length=255):
    """A non-empty string of at most ``max_length`` characters (the
    database's column), or None for None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise exception.InvalidRequest('%s must be a non-empty string, not '
                                       '%r.' % (what, value))
    if max_length is not None and len(value.strip()) > max_length:
        raise exception.InvalidRequest(
            '%s is %d characters long; the limit is %d.'
            % (what, len(value.strip()), max_length))
    return value.strip()


def validate_name(name):
    """Refuse empty, over-long or control-character names.

    Markup characters (``<``, ``&``, quotes) are allowed: the domain XML is
    built with an XML library, which escapes them.
    """
    if not isinstance(name, str):
        raise exception.InvalidRequest('Name must be a string, not %r.'
                                       % (name,))
    if not name.strip():
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
                               _count(getattr(self, field), what))

    @classmethod
    def named(cls, name):
        try:
            vcpus, memory_mb, root_gb = DEFAULT_FLAVORS[name]
        except KeyError:
            raise exception.FlavorNotFound(name)
        return cls(name, vcpus, memory_mb, root_gb)

    def to_dict(self):
        return dataclasses.asdict(self)


class BlockDeviceAction(parseractions.MultiKeyValueAction):
    """``--block-device key=value,...`` split as OpenStackClient does
    (osc-lib), each into a dict of request keys that
    BlockDeviceMapping.from_request validates.

    A malformed or repeated item is an InvalidRequest (one line, as every
    refused request), not argparse's usage text.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        split = argparse.Namespace()
        try:
            super().__call__(parser, split, values, option_string)
        except argparse.ArgumentError:
            raise exception.InvalidRequest(
                'Invalid block device %r: give key=value items separated '
                'by commas.' % values)
        keys = [item.split('=', 1)[0] for item in values.split(',')]
        repeated = [key for key in keys if keys.count(key) > 1]
        if repeated:
            raise exception.InvalidRequest(
                'Block device %r gives %s= twice.' % (values, repeated[0]))
        if getattr(namespace, self.dest, None) is None:
            setattr(namespace, self.dest, [])
        getattr(namespace, self.dest).extend(getattr(split, self.dest))


@dataclasses.dataclass
class BlockDeviceMapping:
    source_type: str
    destination_type: str
    uuid: str | None = None
    volume_size: int | None = None
    boot_index: int | None = None
    delete_on_termination: bool = False
    device_name: str | None = None

    #: Request keys, by the field they set: the short ones and
    #: OpenStackClient's (Nova's API names), in ``--block-device`` and
    #: in a dict alike.
    KEYS = {'source_type': ('source', 'source_type'),
            'destination_type': ('destination', 'destination_type'),
            'volume_size': ('size', 'volume_size'),
            'uuid': ('uuid',),
            'boot_index': ('boot_index', 'boot-index'),
            'delete_on_termination': ('delete_on_termination',
                                      'delete-on-termination'),
            'device_name': ('device_name',)}

    @classmethod
    def parse(cls, spec):
        """Parse ``key=value,...`` as given to ``--block-device``."""
        if not isinstance(spec, str):
            raise exception.InvalidRequest(
                'A block device must be a key=value,... string, not %r.'
                % (spec,))
        namespace = argparse.Namespace(block_devices=[])
        BlockDeviceAction(['--block-device'], 'block_devices')(
            None, namespace, spec)
        return cls.from_request(namespace.block_devices[0])

    @classmethod
    def given(cls, values, field):
        """The value a dict of request keys gives ``field`` (None)."""
        for key in cls.KEYS[field]:
            if key in values:
                return values[key]
        return None

    @classmethod
    def from_request(cls, values):
        """A validated mapping from a dict of request keys (see KEYS)."""
        if not isinstance(values, dict):
            raise exception.InvalidRequest(
                'A block device must be a key=value,... string, a dict or '
                'a BlockDeviceMapping, not %r.' % (values,))
        known = {key: field for field, keys in cls.KEYS.items()
                 for key in keys}
        unknown = sorted(repr(k) for k in values if k not in known)
        if unknown:
            raise exception.InvalidRequest(
                'Unknown block device key %s; known are %s.'
                % (', '.join(unknown), ', '.join(sorted(known))))
        fields = {}
        for key, value in values.items():
            field = known[key]
            if field in fields:
                raise exception.InvalidRequest(
                    'Block device gives %s twice (%s).'
                    % (field, ', '.join(k for k in cls.KEYS[field]
                                        if k in values)))
            fields[field] = value
        if 'source_type' not in fields or 'destination_type' not in fields:
            raise exception.InvalidRequest(
                'A block device needs source= (or source_type=) and '
                'destination= (or destination_type=).')
        if fields.get('device_name') not in (None, ''):
            LOG.warning('Ignoring the block device name %s: device names '
                        'are assigned in boot order (vda, vdb, ...), as '
                        'Nova\'s libvirt driver does.',
                        fields['device_name'])
        size = fields.get('volume_size')
        bdm = cls(
            source_type=fields.get('source_type'),
            destination_type=fields.get('destination_type'),
            uuid=(_text(fields['uuid'], 'Block device uuid')
                  if fields.get('uuid') not in (None, '') else None),
            volume_size=(None if size in (None, '')
                         else _count(size, 'Block device size')),
            boot_index=_boot_index(fields.get('boot_index')),
            delete_on_termination=_parse_bool(
                fields.get('delete_on_termination', False),
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
        elif self.uuid:
            check_reference(self.source_type, self.uuid)
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


def check_reference(kind, ref):
    """Volume and snapshot ids are UUIDs; images are UUIDs or http(s)
    URLs (whose own rules the http image driver applies). Anything else
    (a path, "detail") is refused before it reaches a service's URL."""
    if uuidutils.is_uuid_like(ref):
        return
    if kind == 'image' and ref.startswith(IMAGE_URL_PREFIXES):
        return
    if kind == 'image':
        raise exception.InvalidRequest(
            'The image %r is not an image UUID nor an http(s) URL.' % ref)
    raise exception.InvalidRequest('The %s %r is not a %s\'s UUID.'
                                   % (kind, ref, kind))


def _boot_index(value):
    """An int from 0, or None (not bootable: None, '', 'none' or -1, as
    in Nova)."""
    if value is None or (isinstance(value, str)
                         and value.strip().lower() in _NONE_WORDS):
        return None
    index = _count(value, 'Boot index', minimum=-1,
                   maximum=MAX_BLOCK_DEVICES - 1)
    return None if index == -1 else index


def resolve_block_devices(image_ref, mappings):
    """The block devices a build of ``image_ref`` (or None) with
    ``mappings`` has: the image->local root disk ``--image`` implies
    added (as Nova does), Nova's block-device rules checked, device names
    assigned. Raises InvalidRequest."""
    bdms = _with_root_disk(_text(image_ref, 'Image', max_length=None),
                           mappings)
    _validate_block_devices(bdms)
    _assign_device_names(bdms)
    return bdms


def _with_root_disk(image_ref, mappings):
    bdms = list(mappings)
    if image_ref and not any(b.boot_index == 0 for b in bdms):
        bdms.insert(0, BlockDeviceMapping(
            'image', 'local', uuid=image_ref, boot_index=0))
    for bdm in bdms:
        if (bdm.source_type, bdm.destination_type) == ('image', 'local'):
            if not bdm.uuid:
                bdm.uuid = image_ref
            if not bdm.uuid:
                raise exception.InvalidRequest(
                    'An image->local block device needs an image.')
    if image_ref:
        check_reference('image', image_ref)
        if not any(b.source_type == 'image' and b.uuid == image_ref
                   for b in bdms):
            raise exception.InvalidRequest(
                'The image %s would not be used: a block device has '
                'boot index 0; give --image or that block device.'
                % image_ref)
    return bdms


def _validate_block_devices(bdms):
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


def _assign_device_names(bdms):
    order = sorted(range(len(bdms)),
                   key=lambda i: (bdms[i].boot_index is None,
                                  bdms[i].boot_index or 0, i))
    if len(order) > MAX_BLOCK_DEVICES:
        raise exception.InvalidRequest(
            'At most %d block devices are allowed.' % MAX_BLOCK_DEVICES)
    for letter, index in zip(string.ascii_lowercase, order):
        bdms[index].device_name = 'vd' + letter


def _config_drive_file(value, what):
    """User-given bytes for the config drive, at most MAX_USER_DATA_BYTES
    (None for None or nothing)."""
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise exception.InvalidRequest('%s must be bytes, not %s.'
                                       % (what, type(value).__name__))
    if len(value) > MAX_USER_DATA_BYTES:
        raise exception.InvalidRequest(
            '%s is %d bytes long; the limit is %d.'
            % (what, len(value), MAX_USER_DATA_BYTES))
    return value or None


def _network_config(value):
    """cloud-init's network-config (version 1 or 2 YAML), checked that it
    parses as one, so a typo fails the request rather than the guest."""
    value = _config_drive_file(value, 'Network config')
    if value is None:
        return None
    # libyaml's safe loader: fast, and it refuses documents nested more
    # than 1,000 deep (PyYAML's own parser takes 40 s on 60 KB of brackets).
    loader = yaml.CSafeLoader
    try:
        if any(isinstance(event, yaml.AliasEvent)
               for event in yaml.parse(value, Loader=loader)):
            # cloud-init would expand them: a few bytes can become gigabytes.
            raise exception.InvalidRequest(
                'Network config must not use YAML aliases.')
        document = yaml.load(value, Loader=loader)
    except yaml.YAMLError as error:
        raise exception.InvalidRequest(
            'Network config is not YAML: %s' % str(error).splitlines()[0])
    if isinstance(document, dict) and 'network' in document:
        document = document['network']
    version = document.get('version') if isinstance(document, dict) else None
    if type(version) is not int or version not in NETWORK_CONFIG_VERSIONS:
        raise exception.InvalidRequest(
            'Network config must be cloud-init network config version 1 '
            'or 2 (a mapping with "version: 1" or "version: 2").')
    return value


@dataclasses.dataclass
class BuildRequest:
    """What to build, checked as it is made (resolve_block_devices).

    ``user_data`` and ``network_config`` go, byte for byte, on the
    guest's config drive.
    """

    name: str
    flavor: Flavor
    image_ref: str | None = None
    block_device_mappings: list = dataclasses.field(default_factory=list)
    user_data: bytes | None = None
    network_config: bytes | None = None

    def __post_init__(self):
        validate_name(self.name)
        if not isinstance(self.flavor, Flavor):
            raise exception.InvalidRequest('flavor must be a Flavor, not %r.'
                                           % (self.flavor,))
        # (Long references are the image drivers' to refuse: a URL's
        # limit is the http driver's, ids are looked up.)
        self.image_ref = _text(self.image_ref, 'Image', max_length=None)
        self.block_device_mappings = resolve_block_devices(
            self.image_ref, self.block_device_mappings)
        self.user_data = _config_drive_file(self.user_data, 'User data')
        self.network_config = _network_config(self.network_config)

    def image_ids(self):
        """Every image the request names (root disk and image->volume)."""
        return sorted({b.uuid for b in self.block_device_mappings
                       if b.source_type == 'image'})

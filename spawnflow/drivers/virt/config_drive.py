"""The config drive: cloud-init's NoCloud seed as an ISO 9660 image.

cloud-init (and the test guest) find it by its volume label, ``cidata``,
and read three files at its root: ``meta-data`` (the instance id and the
hostname, YAML), ``user-data`` (the user's, byte for byte) and, when
given, ``network-config``. The image is made with pycdlib, with Rock Ridge
and Joliet names as genisoimage's ``-r -J`` would write them.
"""

import io
import re
import unicodedata

import pycdlib
import yaml

LABEL = 'cidata'
#: Each file's Rock Ridge and Joliet name: its ISO 9660 level-1 name.
FILES = {'meta-data': 'METADATA.;1', 'user-data': 'USERDATA.;1',
         'network-config': 'NETWORKC.;1'}
_MAX_HOSTNAME = 63


def hostname(display_name, instance_uuid):
    """A hostname from the server's name, as Nova's sanitize_hostname
    makes one: ASCII letters, digits and dashes, at most 63 characters;
    ``server-<uuid>`` when nothing of the name is left."""
    text = unicodedata.normalize('NFKD', display_name)
    text = text.encode('ascii', 'ignore').decode('ascii').lower()
    text = re.sub(r'[ _.]', '-', text)
    text = re.sub(r'[^a-z0-9-]+', '', text)
    text = text[:_MAX_HOSTNAME].strip('-')
    return text or 'server-%s' % instance_uuid


def meta_data(instance):
    """NoCloud's meta-data for an instance row: id and hostname."""
    return yaml.safe_dump(
        {'instance-id': instance['uuid'],
         'local-hostname': hostname(instance['display_name'],
                                    instance['uuid'])},
        default_flow_style=False, sort_keys=False).encode('ascii')


def write(fileobj, instance, user_data=None, network_config=None):
    """Write the config drive of ``instance`` (its row as a dict) to the
    binary file ``fileobj``. A missing user-data is written empty, as
    cloud-init's NoCloud requires the file."""
    contents = {'meta-data': meta_data(instance),
                'user-data': user_data or b''}
    if network_config:
        contents['network-config'] = network_config
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, rock_ridge='1.09', joliet=3,
            vol_ident=LABEL, sys_ident='LINUX')
    try:
        for name, data in contents.items():
            iso.add_fp(io.BytesIO(data), len(data), '/' + FILES[name],
                       rr_name=name, joliet_path='/' + name)
        iso.write_fp(fileobj)
    finally:
        iso.close()

"""[libvirt]: the hypervisor connection and guest settings (Nova's names)."""

from oslo_config import cfg


def _group():
    # A new OptGroup per ConfigOpts: oslo.config copies groups shallowly,
    # so options keystoneauth registers on one configuration would
    # otherwise appear in every later one.
    return cfg.OptGroup('libvirt', title='Libvirt options')


libvirt_opts = [
    cfg.StrOpt('connection_uri', default='test:///default',
               help='Libvirt URI. test:///default is libvirt\'s in-process '
                    'test hypervisor (nothing really runs); use '
                    'qemu:///system for real guests.'),
    cfg.StrOpt('virt_type', default='kvm', choices=('kvm', 'qemu'),
               help='Domain type: kvm (hardware acceleration) or qemu '
                    '(pure emulation).'),
    cfg.IntOpt('wait_for_running_timeout', default=60, min=1,
               help='Seconds a started domain may take to report running '
                    'before the build fails (Nova waits forever).'),
]


def register_opts(conf):
    libvirt_group = _group()
    conf.register_group(libvirt_group)
    conf.register_opts(libvirt_opts, group=libvirt_group)


def list_opts():
    libvirt_group = _group()
    return {libvirt_group: libvirt_opts}

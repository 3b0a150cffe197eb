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
               help='Domain type: kvm (hardware acceleration; refused with '
                    'the reason where the host cannot run it) or qemu '
                    '(pure emulation, TCG).'),
    cfg.IntOpt('wait_for_running_timeout', default=60, min=1,
               help='Seconds a started domain may take to report running '
                    'before the build fails (Nova waits forever).'),
    cfg.IntOpt('wait_for_boot_timeout', default=0, min=0,
               help='Seconds a started guest may take to print '
                    'boot_marker on its serial console before the build '
                    'fails and is reverted. 0 does not wait: the build is '
                    'ACTIVE once the domain runs, as in Nova.'),
    cfg.StrOpt('boot_marker', default=r'Cloud-init v\. \S+ finished at ',
               help='Regular expression (Python syntax) of the console '
                    'line that tells the guest booted; by default '
                    'cloud-init\'s last line.'),
    cfg.StrOpt('rbd_secret_uuid',
               help='UUID of the libvirt secret holding the Ceph key of '
                    'RBD volumes whose connection asks for cephx auth.'),
]


def register_opts(conf):
    libvirt_group = _group()
    conf.register_group(libvirt_group)
    conf.register_opts(libvirt_opts, group=libvirt_group)


def list_opts():
    libvirt_group = _group()
    return {libvirt_group: libvirt_opts}

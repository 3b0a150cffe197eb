"""[DEFAULT] options: host identity, paths, drivers and the build budget.

Names and defaults follow Nova where Nova has the option.
"""

import os
import socket

from oslo_config import cfg

compute_opts = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<current_hostname>',
               help='Name of this host: recorded on instances it builds and '
                    'used for resource claims.'),
    cfg.StrOpt('my_ip', default='127.0.0.1',
               help='IP address of this host given to the volume service '
                    'in its connector (the address its targets export '
                    'volumes to).'),
    cfg.StrOpt('state_path',
               default=os.path.join(os.path.expanduser('~'), '.local',
                                    'share', 'spawnflow'),
               sample_default='$HOME/.local/share/spawnflow',
               help='Top-level directory for spawnflow state.'),
    cfg.StrOpt('instances_path',
               default='$state_path/instances',
               help='Where instance disks and the image cache (_base) live.'),
    cfg.StrOpt('deployment_tag',
               regex=r'^[A-Za-z0-9._-]{1,64}$',
               help='Tag marking the volumes and domains this deployment '
                    'makes (letters, digits, ".", "_", "-"; at most 64). '
                    'Orphan detection and reaping only ever touch resources '
                    'with this tag, so deployments can share a Cinder '
                    'project or a hypervisor. Default: the id `spawnflow db '
                    'sync` stored in the database.'),
    cfg.StrOpt('compute_driver', default='libvirt',
               help='Virt driver (entry point in spawnflow.virt_drivers).'),
    cfg.StrOpt('volume_driver', default='local',
               help='Volume driver (entry point in '
                    'spawnflow.volume_drivers).'),
    cfg.StrOpt('image_driver', default='local',
               help='Image driver (entry point in spawnflow.image_drivers).'),
    cfg.IntOpt('block_device_allocate_retries', default=60, min=0,
               help='How many times to check that a new volume is '
                    'available before giving up.'),
    cfg.IntOpt('block_device_allocate_retries_interval', default=3, min=0,
               help='Seconds between volume status checks. With '
                    'block_device_allocate_retries this sets the overall '
                    'budget of a volume wait.'),
    cfg.FloatOpt('service_retry_interval', default=0.5, min=0.0,
                 help='Seconds before the first retry of a call that failed '
                      'transiently (connection refused or reset, timeout, '
                      'HTTP 5xx) to Cinder, Glance or an image server; each '
                      'further retry waits twice as long, up to '
                      'service_max_retry_interval. How many retries: '
                      '[cinder] http_retries, [glance] num_retries, '
                      '[http_image] num_retries.'),
    cfg.FloatOpt('service_max_retry_interval', default=10.0, min=0.0,
                 help='The longest wait between two retries of a call to a '
                      'service.'),
    cfg.IntOpt('max_concurrent_builds', default=10, min=1,
               help='Threads available to run a build\'s tasks in parallel.'),
    cfg.IntOpt('reserved_host_memory_mb', default=512, min=0,
               help='Memory kept back from claims for the host itself.'),
    cfg.IntOpt('reserved_host_disk_mb', default=0, min=0,
               help='Disk kept back from claims for the host itself.'),
    cfg.IntOpt('reserved_host_cpus', default=0, min=0,
               help='Host CPUs kept back from claims.'),
    cfg.FloatOpt('cpu_allocation_ratio', default=4.0, min=0.0,
                 help='Virtual CPUs claimable per host CPU.'),
    cfg.FloatOpt('ram_allocation_ratio', default=1.0, min=0.0,
                 help='Memory claimable per MiB of host memory.'),
    cfg.FloatOpt('disk_allocation_ratio', default=1.0, min=0.0,
                 help='Disk claimable per GiB free under instances_path.'),
]


def register_opts(conf):
    conf.register_opts(compute_opts)


def list_opts():
    return {'DEFAULT': compute_opts}

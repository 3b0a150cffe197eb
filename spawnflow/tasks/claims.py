"""Resource claims: the instance's flavor against this host's capacity."""

import os
import shutil

from spawnflow.tasks import base

GiB = 1024 ** 3


def host_capacity(services):
    """What this host can give, after reservations and allocation ratios.

    As in placement: capacity = (total - reserved) * allocation_ratio.
    """
    conf = services.conf
    hypervisor = services.virt.capacity()
    disk_gb = shutil.disk_usage(_existing_parent(conf.instances_path)).total
    return {
        'vcpus': int((hypervisor['vcpus'] - conf.reserved_host_cpus)
                     * conf.cpu_allocation_ratio),
        'memory_mb': int((hypervisor['memory_mb']
                          - conf.reserved_host_memory_mb)
                         * conf.ram_allocation_ratio),
        'local_gb': int((disk_gb / GiB - conf.reserved_host_disk_mb / 1024)
                        * conf.disk_allocation_ratio),
    }


def _existing_parent(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


class ClaimResources(base.BaseTask):
    """Claim vcpus, memory and local disk on this host.

    Revert: the claim is released (the instance no longer holds the host).
    """

    def execute(self, services, instance_uuid):
        services.db.instance_claim(instance_uuid, services.host,
                                   host_capacity(services))

    def revert(self, services, instance_uuid, **kwargs):
        services.db.instance_release(instance_uuid)


class ReleaseResources(base.BaseTask):
    """Give the host's resources back when an instance is deleted."""

    def execute(self, services, instance_uuid):
        services.db.instance_release(instance_uuid)

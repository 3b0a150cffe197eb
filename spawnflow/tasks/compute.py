"""Guest tasks: build the domain XML, define, start, wait, destroy."""

from spawnflow.tasks import base


class BuildGuestConfig(base.BaseTask):
    """Domain XML from the instance and its BDMs' connection_info.

    Pure computation: nothing to revert.
    """

    default_provides = 'guest_xml'

    def execute(self, services, instance_uuid):
        instance = services.db.instance_get(instance_uuid)
        disks = [{'device_name': bdm['device_name'],
                  'boot_index': bdm['boot_index'],
                  'serial': bdm['volume_id'],
                  'connection_info': bdm['connection_info']}
                 for bdm in services.db.bdm_list(instance_uuid)]
        return services.virt.guest_xml(instance, disks, services.deployment)


class DefineDomain(base.BaseTask):
    """Define the domain (its uuid is the instance's, so a re-run redefines).

    Revert: the domain with the instance's uuid is undefined; a different
    domain that made libvirt refuse ours is never touched.
    """

    def execute(self, services, guest_xml):
        services.virt.define(guest_xml)

    def revert(self, services, instance_uuid, **kwargs):
        services.virt.undefine(instance_uuid)


class StartDomain(base.BaseTask):
    """Start the domain (a no-op when it runs). Revert: power it off."""

    def execute(self, services, instance_uuid):
        services.virt.start(instance_uuid)

    def revert(self, services, instance_uuid, **kwargs):
        services.virt.destroy(instance_uuid)


class WaitForRunning(base.BaseTask):
    """Wait, bounded, for the domain to report running. Nothing to revert."""

    def execute(self, services, instance_uuid):
        services.virt.wait_for_running(
            instance_uuid, services.conf.libvirt.wait_for_running_timeout)


class DestroyDomain(base.BaseTask):
    """Power off and undefine the instance's domain (no-op when missing)."""

    def execute(self, services, instance_uuid):
        services.virt.undefine(instance_uuid)

"""Guest tasks: the config drive, the domain XML, define, start, wait for
it to run and to boot, destroy."""

from spawnflow.tasks import base


class CreateConfigDrive(base.BaseTask):
    """Write the config drive: meta-data (instance id, hostname) and the
    user's user-data and network-config; made anew on a re-run.

    It is the first of the instance's files; its revert removes the
    instance's directory with all in it (config drive, console log, and
    what a killed run left), so a failed build leaves no file behind.
    """

    def execute(self, services, instance_uuid):
        instance = services.db.instance_get(instance_uuid)
        user_data, network_config = services.db.user_data_get(instance_uuid)
        return services.virt.create_config_drive(instance, user_data,
                                                 network_config)

    def revert(self, services, instance_uuid, **kwargs):
        services.virt.delete_instance_files(instance_uuid)


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


class WaitForBoot(base.BaseTask):
    """Wait, bounded, for the guest to print ``[libvirt] boot_marker`` on
    its console (when ``wait_for_boot_timeout`` is set), and return the
    line. A guest that never does fails the build, and start-domain's
    revert powers it off. Nothing to revert here.
    """

    def execute(self, services, instance_uuid):
        timeout = services.conf.libvirt.wait_for_boot_timeout
        if not timeout:
            return None
        return services.virt.wait_for_boot(
            instance_uuid, services.conf.libvirt.boot_marker, timeout)


class DestroyDomain(base.BaseTask):
    """Power off and undefine the instance's domain (no-op when missing)."""

    def execute(self, services, instance_uuid):
        services.virt.undefine(instance_uuid)

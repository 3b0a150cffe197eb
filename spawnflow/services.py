"""What the tasks of a flow work with: config, database, drivers, cache.

A ``Services`` object is injected into each engine as a transient value:
it is never written to the logbook, so no client or credential is
persisted, and a resumed flow gets the resuming process's own.
"""

import copy
import logging

from spawnflow import drivers
from spawnflow import imagecache
from spawnflow.persistence import api as db_api

#: The name QEMU's iSCSI initiator gives a target by default.
QEMU_ISCSI_INITIATOR = 'iqn.2008-11.org.linux-kvm'


class Services:
    def __init__(self, conf):
        self.conf = conf
        self.host = conf.host
        # Drivers first: a configuration naming no such driver is refused
        # before anything (the database's directory) is made.
        self.drivers = drivers.Drivers.from_conf(conf)
        self.db = db_api.Database.from_conf(conf)
        self.image_cache = imagecache.ImageCache(conf.instances_path,
                                                 self.drivers.image)
        #: What is asked once per process, shared with the fenced copies.
        self._asked = {}

    def fenced(self, fence):
        """These services for one flow's tasks: their database writes
        check the flow's fence (spawnflow.ownership.Fence)."""
        fenced = copy.copy(self)
        fenced.db = self.db.fenced(fence)
        return fenced

    def _once(self, name, ask):
        """``ask()``'s answer, asked the first time only (two flows asking
        at once may both ask: the answers are the same)."""
        try:
            return self._asked[name]
        except KeyError:
            return self._asked.setdefault(name, ask())

    @property
    def deployment(self):
        """The tag on what this deployment makes ([DEFAULT] deployment_tag,
        else the one ``db sync`` stored)."""
        return self._once('deployment', lambda: (
            self.conf.deployment_tag or self.db.deployment_tag()))

    @property
    def virt(self):
        return self.drivers.virt

    @property
    def volume(self):
        return self.drivers.volume

    @property
    def image(self):
        return self.drivers.image

    @property
    def connector(self):
        """This host's connector, given to the volume service on attach:
        os-brick's properties, asked as Nova's get_volume_connector does.

        os-brick reads some of them (the system uuid, the NVMe host NQN)
        through its privsep daemon, which it would start with sudo; they
        run in this process instead, with its own rights: as root they are
        read, otherwise os-brick leaves them out. Its warnings about the
        initiators this host lacks (no open-iscsi, no nvme-cli) do not
        concern spawnflow, whose volumes QEMU opens itself; so the iSCSI
        initiator is QEMU's (libiscsi logs in with its default name when
        the domain names none), not open-iscsi's.
        Asked once per process (it takes os-brick about 0.1 s).
        """
        return self._once('connector', self._connector_properties)

    def _connector_properties(self):
        import os_brick.privileged
        from os_brick.initiator import connector

        os_brick.privileged.default.set_client_mode(False)
        logging.getLogger('os_brick').setLevel(logging.ERROR)
        properties = connector.get_connector_properties(
            None, self.conf.my_ip, multipath=False, enforce_multipath=True,
            host=self.host)
        return dict(properties, initiator=QEMU_ISCSI_INITIATOR)

    def close(self):
        self.drivers.volume.close()
        self.db.engine.dispose()

"""Nova's instance states, in one place: every layer names them from here.

``vm_state`` is where an instance is (Nova's ``compute/vm_states.py``);
``task_state`` what is being done to it (``compute/task_states.py``).
A build goes scheduling -> block_device_mapping -> spawning -> None.
"""

# vm_state
BUILDING = 'building'
ACTIVE = 'active'
ERROR = 'error'
DELETED = 'deleted'

# task_state
SCHEDULING = 'scheduling'
BLOCK_DEVICE_MAPPING = 'block_device_mapping'
SPAWNING = 'spawning'
DELETING = 'deleting'

#: The task states of a build, in order.
BUILD_TASK_STATES = (SCHEDULING, BLOCK_DEVICE_MAPPING, SPAWNING)

#: The status the API shows for each vm_state (Nova's API: BUILD, ...).
STATUS = {BUILDING: 'BUILD', ACTIVE: 'ACTIVE', ERROR: 'ERROR',
          DELETED: 'DELETED'}


def status(vm_state):
    """The API status of a vm_state (itself when it has none)."""
    return STATUS.get(vm_state, vm_state)

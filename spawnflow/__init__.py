"""spawnflow: crash-safe virtual machine builds as persisted TaskFlow flows."""

import warnings

# TaskFlow imports futurist, which imports eventlet whenever it is installed
# (oslo.messaging brings it); spawnflow uses threads, and the import's
# deprecation notice would be printed by every command.
warnings.filterwarnings('ignore', message='\\s*Eventlet is deprecated')

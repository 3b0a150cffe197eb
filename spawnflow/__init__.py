"""spawnflow: crash-safe virtual machine builds as persisted TaskFlow flows."""

"""SQL persistence: spawnflow's tables and TaskFlow's, in one database."""

"""Flow factories: module-level functions TaskFlow re-imports on resume."""

"""Revertible TaskFlow tasks, grouped by what they touch.

Every task takes ``services`` (injected transiently by the engine) and
reads what it needs from the database by instance uuid, so the flow's store
holds plain data only. Every execute and every revert is idempotent: a task
re-run after a crash finds what its earlier run made.
"""

"""Modules imported when first used, not when their importer is.

``spawnflow --help`` loads every command's module to describe it, and
most commands read a few rows: TaskFlow, Flask, Graphviz's binding,
Alembic and the drivers' libraries would cost a second to import, and
oslo.utils' strutils compiles its password patterns, which only a log
record to be masked needs. So those modules are taken through
``module()``: the standard library's LazyLoader runs a module's code on
its first attribute access.
"""

import importlib.util
import sys


def module(name):
    """``name``'s module, imported on first use (at once if it already
    is)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[name] = lazy
    loader.exec_module(lazy)
    return lazy

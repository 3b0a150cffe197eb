"""The bases of spawnflow's commands: cliff's, with the epilog their
docstrings give.

cliff adds to a command's epilog the distribution that provides it when
that is not the application's, which it learns by reading the metadata
of every installed distribution (about 0.1 s, on every command, before
its parser is made). Every spawnflow command is spawnflow's own.
"""

from cliff import command
from cliff import lister
from cliff import show


class _OwnCommand:
    def get_epilog(self):
        parts = [self._epilog or '']
        parts += [epilog for epilog in (hook.obj.get_epilog()
                                        for hook in self._hooks
                                        if hook.obj is not None)
                  if epilog is not None]
        return '\n\n'.join(parts)


class Command(_OwnCommand, command.Command):
    pass


class Lister(_OwnCommand, lister.Lister):
    pass


class ShowOne(_OwnCommand, show.ShowOne):
    pass

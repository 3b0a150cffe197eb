"""A flow view (spawnflow.inspection) drawn with Graphviz.

One node per atom, named after its task and coloured by its state, with
its duration; each subflow a cluster, a parallel one labelled so, its
branches side by side. The failed task has a double red border and its
cause; the revert path is a chain of dashed edges through the reverted
tasks in the order their reverts ran, each numbered. Every node carries
``id="task-<name>"`` and ``class="state-<state>"`` (and ``failed``) into
the SVG, which the dashboard and its tests read.
"""

import functools

import graphviz
from taskflow import states

from spawnflow import inspection

FORMATS = ('dot', 'svg', 'png')

#: Fill colour and border of a node in each state.
STYLES = {
    states.PENDING: ('#f0f0f0', '#9e9e9e'),
    states.RUNNING: ('#bbdefb', '#1565c0'),
    states.SUCCESS: ('#c8e6c9', '#2e7d32'),
    states.FAILURE: ('#ffcdd2', '#c62828'),
    states.REVERTING: ('#ffe0b2', '#ef6c00'),
    states.REVERTED: ('#e1bee7', '#6a1b9a'),
    states.REVERT_FAILURE: ('#b71c1c', '#b71c1c'),
    states.IGNORE: ('#f0f0f0', '#9e9e9e'),
}
FAILED_COLOUR = '#c62828'
REVERT_PATH_COLOUR = '#6a1b9a'
#: Characters of a failure's cause written on its node.
CAUSE_ON_NODE = 48


def graph(view):
    """The graphviz.Digraph of a FlowView."""
    dot = graphviz.Digraph(name=_id(view.name), graph_attr={
        'rankdir': 'TB', 'fontname': 'Helvetica', 'fontsize': '11',
        'label': _title(view), 'labelloc': 't', 'nodesep': '0.3',
        'ranksep': '0.3'}, node_attr={
        'shape': 'box', 'style': 'rounded,filled', 'fontname': 'Helvetica',
        'fontsize': '10'}, edge_attr={'color': '#616161',
                                      'arrowsize': '0.6'})
    _add_group(dot, view.root, top=True)
    _add_revert_path(dot, view)
    return dot


def source(view):
    """The DOT text of a FlowView."""
    return graph(view).source


def svg(view):
    """The FlowView's SVG element (without the XML prolog, to inline in
    a page); drawn once per distinct DOT text."""
    return _svg(source(view))


@functools.lru_cache(maxsize=256)
def _svg(dot_source):
    drawn = graphviz.pipe('dot', 'svg', dot_source.encode()).decode()
    return drawn[drawn.index('<svg'):]


def render(view, output_format):
    """The FlowView drawn in ``output_format`` (dot, svg or png): bytes."""
    if output_format == 'dot':
        return source(view).encode()
    return graph(view).pipe(format=output_format)


def _add_group(dot, group, top=False):
    """Draw ``group``'s atoms and links (a cluster unless it is the top
    flow); returns its (entry node names, exit node names)."""
    ends = []
    if top:
        target = dot
        for child in group.children:
            ends.append(_add_child(target, child))
    else:
        with dot.subgraph(name='cluster_' + _id(group.name)) as target:
            target.attr(label=group.name + (' (in parallel)'
                                            if group.parallel else ''),
                        style='rounded,dashed', color='#9e9e9e',
                        fontsize='10')
            for child in group.children:
                ends.append(_add_child(target, child))
    for before, after in group.links:
        for tail in ends[before][1]:
            for head in ends[after][0]:
                dot.edge(tail, head)
    entries = [name for i, (heads, _tails) in enumerate(ends)
               if not any(b == i for _a, b in group.links) for name in heads]
    exits = [name for i, (_heads, tails) in enumerate(ends)
             if not any(a == i for a, _b in group.links) for name in tails]
    return entries, exits


def _add_child(dot, child):
    if isinstance(child, inspection.Group):
        return _add_group(dot, child)
    _add_atom(dot, child)
    return [child.name], [child.name]


def _add_atom(dot, atom):
    fill, border = STYLES.get(atom.state, STYLES[states.PENDING])
    attrs = {'id': 'task-' + atom.name, 'fillcolor': fill, 'color': border,
             'class': ' '.join(['state-' + atom.state.lower()]
                               + (['failed'] if atom.failed else [])),
             'tooltip': _tooltip(atom)}
    if atom.state == states.REVERT_FAILURE:
        attrs['fontcolor'] = 'white'
    if atom.state == states.PENDING:
        attrs['style'] = 'rounded,filled,dashed'
    if atom.failed:
        attrs.update(color=FAILED_COLOUR, penwidth='2', peripheries='2')
    dot.node(atom.name, label=_label(atom), **attrs)


def _label(atom):
    lines = [atom.name]
    status = atom.state.lower()
    if atom.duration is not None:
        status += ' \u00b7 %s' % inspection.duration_text(atom.duration)
    if atom.runs > 1:
        status += ' \u00b7 ran %d times' % atom.runs
    lines.append(status)
    if atom.failed:
        cause = atom.cause
        if len(cause) > CAUSE_ON_NODE:
            cause = cause[:CAUSE_ON_NODE - 3] + '...'
        lines.append('failed: ' + cause)
    if atom.revert_order is not None:
        revert = 'revert #%d' % atom.revert_order
        if atom.revert_runs > 1:
            revert += ' \u00b7 ran %d times' % atom.revert_runs
        if atom.revert_duration is not None:
            revert += ' \u00b7 %s' % inspection.duration_text(
                atom.revert_duration)
        if atom.revert_result and atom.revert_result != 'Reverted':
            revert += ' \u00b7 ' + atom.revert_result
        lines.append(revert)
    return _lines(lines)


def _lines(lines, tooltip=False):
    """DOT text of lines, each centred, backslashes kept literal (a
    cause's ``\\N`` is not the node's name). Graphviz reads a tooltip's
    escapes twice, so a backslash there is escaped twice."""
    backslash = '\\' * (4 if tooltip else 2)
    return '\\n'.join(line.replace('\\', backslash) for line in lines)


def _tooltip(atom):
    parts = ['%s: %s' % (atom.name, atom.state)]
    if atom.result:
        parts.append('result: ' + atom.result)
    if atom.cause:
        parts.append('cause: ' + atom.cause)
    if atom.revert_result:
        parts.append('revert: ' + atom.revert_result)
    return _lines(parts, tooltip=True)


def _add_revert_path(dot, view):
    """Dashed edges from the failed task through the reverts, in order
    (they do not move the nodes: constraint=false)."""
    path = view.revert_path()
    for before, after in zip(path, path[1:]):
        dot.edge(before.name, after.name, label=str(after.revert_order),
                 color=REVERT_PATH_COLOUR, fontcolor=REVERT_PATH_COLOUR,
                 style='dashed', constraint='false', fontsize='9',
                 **{'class': 'revert-path'})


def _title(view):
    title = '%s: %s' % (view.action, view.name)
    if view.state is not None:
        title += ' (%s)' % view.state.lower()
    return title


def _id(name):
    """A DOT identifier part for a flow name."""
    return ''.join(c if c.isalnum() else '_' for c in name)

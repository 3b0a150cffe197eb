"""The read-only web dashboard: the builds, and each build's diagram and
task table, following it while it runs.

A Flask application over an inspection Reader (whose database engine
refuses writes); every route is GET. The pages poll fragments of
themselves (``/servers``, ``/servers/<id>/flow``) and swap them in when
their ETag changed, so a page follows a build without a reload. The
diagram is Graphviz's SVG (spawnflow.diagram), rendered once per state.
"""

import datetime
import hashlib
import logging
import threading

import flask
from werkzeug import serving

from spawnflow import diagram
from spawnflow import exception
from spawnflow import inspection
from spawnflow import instance_states

LOG = logging.getLogger(__name__)

LOOPBACK_HOSTS = ('localhost', '127.0.0.1', '::1')
#: Scripts only from the page's own origin, nothing framed, no plugins.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; "
                           "style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'; form-action 'self'")


def create_app(reader, refresh_interval=1.0, trusted_hosts=()):
    """The dashboard application reading through ``reader``
    (spawnflow.inspection.Reader). It answers requests for ``localhost``,
    loopback addresses and ``trusted_hosts`` only (the Host header: a
    page of another site that resolves its name to this address, DNS
    rebinding, gets 400)."""
    app = flask.Flask(__name__)
    app.config['REFRESH_MS'] = int(refresh_interval * 1000)
    app.config['TRUSTED_HOSTS'] = list(LOOPBACK_HOSTS + tuple(trusted_hosts))

    @app.after_request
    def _headers(response):
        response.headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY
        response.headers['X-Content-Type-Options'] = 'nosniff'
        response.headers['Referrer-Policy'] = 'no-referrer'
        response.headers.setdefault('Cache-Control', 'no-cache')
        return response

    @app.errorhandler(exception.InstanceNotFound)
    def _not_found(error):
        return flask.render_template('error.html', message=str(error)), 404

    @app.errorhandler(exception.SpawnflowError)
    def _error(error):
        LOG.warning('Dashboard: %s', error)
        return flask.render_template(
            'error.html', message='The database cannot be read now (the '
            'dashboard\'s log says why).'), 503

    @app.get('/')
    def servers_page():
        return flask.render_template('servers.html',
                                     servers=_server_rows(reader))

    @app.get('/servers')
    def servers_fragment():
        return _fragment(flask.render_template(
            '_servers.html', servers=_server_rows(reader)))

    @app.get('/servers/<uuid>')
    def server_page(uuid):
        action = _action()
        server = _server_row(reader.instance(uuid))
        return flask.render_template('server.html', server=server,
                                     action=action,
                                     flow=_flow_html(reader, server, action))

    @app.get('/servers/<uuid>/flow')
    def flow_fragment(uuid):
        action = _action()
        return _fragment(_flow_html(
            reader, _server_row(reader.instance(uuid)), action))

    @app.get('/servers/<uuid>/diagram.svg')
    def diagram_svg(uuid):
        views = reader.flows(uuid, _action(all_allowed=False))
        if not views:
            flask.abort(404)
        return flask.Response(diagram.svg(views[-1]),
                              mimetype='image/svg+xml')

    return app


def _action(all_allowed=True):
    action = flask.request.args.get('action', 'create')
    allowed = inspection.ACTION_CHOICES if all_allowed else \
        inspection.ACTIONS
    if action not in allowed:
        flask.abort(400, 'action must be one of %s' % ', '.join(allowed))
    return action


def _fragment(html):
    """``html`` with an ETag; 304 when the page has it already."""
    response = flask.make_response(html)
    response.set_etag(hashlib.sha256(html.encode()).hexdigest()[:32])
    return response.make_conditional(flask.request)


def _flow_html(reader, server, action):
    """The server's header and its flows for ``action`` (the latest one,
    or all): diagram and task table."""
    views = reader.flows(server['uuid'], action)
    if action != 'all':
        views = views[-1:]
    return flask.render_template(
        '_flow.html', server=server, action=action,
        actions=inspection.ACTION_CHOICES,
        flows=[(view, diagram.svg(view)) for view in views],
        duration=inspection.duration_text, time=_time)


def _server_rows(reader):
    now = _now()
    return [_server_row(instance, now) for instance in reader.instances()]


def _server_row(instance, now=None):
    return {'uuid': instance['uuid'], 'name': instance['display_name'],
            'status': instance_states.status(instance['vm_state']),
            'task_state': instance['task_state'] or '',
            'host': instance['host'] or '',
            'age': inspection.age_text(instance['created_at'],
                                       now or _now()),
            'created': _time(instance['created_at']),
            'flavor': instance['flavor_name']}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _time(value):
    return inspection.time_text(value, sep=' ')


def serve(reader, conf, host=None, port=None):
    """Serve the dashboard of ``reader`` in a thread, on ``host`` and
    ``port`` (default: [dashboard] host and port); the running Server
    (shutdown() it)."""
    options = conf.dashboard
    host = options.host if host is None else host
    return Server(create_app(reader, options.refresh_interval,
                             [host] + options.trusted_hosts),
                  host,
                  options.port if port is None else port).start()


class Server:
    """The dashboard served in a thread (Werkzeug's threaded WSGI server)
    until ``shutdown()``."""

    def __init__(self, app, host, port):
        try:
            self._server = serving.make_server(host, port, app,
                                               threaded=True)
        except OSError as error:
            raise exception.SpawnflowError(
                'Cannot serve the dashboard on %s:%d: %s'
                % (host, port, error.strerror or error))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name='spawnflow-dashboard',
                                        daemon=True)

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return 'http://%s:%d/' % (host if ':' not in host
                                  else '[%s]' % host, port)

    def start(self):
        self._thread.start()
        return self

    def shutdown(self):
        self._server.shutdown()
        if self._thread.is_alive():
            self._thread.join()
        self._server.server_close()

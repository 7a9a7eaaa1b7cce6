"""The sample WSGI app that /usr/share/nuwsgi/samples/example-app.ini serves."""


def application(environ, start_response):
    body = b'Hello from nuwsgi (example-app)\n'
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]

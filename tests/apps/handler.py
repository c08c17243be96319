# A WSGIHandlerScript: its handle_request serves every file given its handler name.
def handle_request(environ, start_response):
    body = 'handled %s by %s\n' % (environ['SCRIPT_FILENAME'], environ['mod_wsgi.handler_script'])
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body.encode()]

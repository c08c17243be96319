# Test app for --application-type module: pkg.webapp:app
def app(environ, start_response):
    body = b"module app at " + environ.get("SCRIPT_NAME", "").encode() + b"\n"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]

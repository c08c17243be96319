# Test app for rwsgi-express: reports what the launcher configured.
def application(environ, start_response):
    lines = [
        "hello from rwsgi-express",
        "SCRIPT_NAME=%s" % environ.get("SCRIPT_NAME"),
        "PATH_INFO=%s" % environ.get("PATH_INFO"),
        "SETENV=%s" % environ.get("RWSGI_EXPRESS_TEST", ""),
        "SCHEME=%s" % environ.get("wsgi.url_scheme"),
    ]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

# Test app for rwsgi-express: reports what the launcher configured, and where it runs.
import os
import time


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/sleep/"):
        # A wedged request, for the timeout tests.
        time.sleep(float(path[len("/sleep/"):]))
    lines = [
        "hello from rwsgi-express",
        "SCRIPT_NAME=%s" % environ.get("SCRIPT_NAME"),
        "PATH_INFO=%s" % path,
        "SETENV=%s" % environ.get("RWSGI_EXPRESS_TEST", ""),
        "SCHEME=%s" % environ.get("wsgi.url_scheme"),
        "PID=%d" % os.getpid(),
        "UID=%d" % os.getuid(),
        "PROCESS_GROUP=%s" % environ.get("mod_wsgi.process_group"),
        "CWD=%s" % os.getcwd(),
    ]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

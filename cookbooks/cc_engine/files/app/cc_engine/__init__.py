"""cc_engine: the example WSGI application the cc_engine cookbook deploys.

/ answers with the application's version, the revision it was deployed
from (the REVISION file the deploy's build step writes) and the version of
its dependency; /health answers "ok" for the deploy's health check.
"""
import os

import cc_engine_text

VERSION = "1.0"
RELEASE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def revision():
    try:
        with open(os.path.join(RELEASE, "REVISION"), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def application(environ, start_response):
    path = environ.get("PATH_INFO", "") or "/"
    if path == "/health":
        status, body = "200 OK", "ok\n"
    elif path == "/":
        status, body = "200 OK", cc_engine_text.page(VERSION, revision())
    else:
        status, body = "404 Not Found", "not found\n"
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(data)))])
    return [data]

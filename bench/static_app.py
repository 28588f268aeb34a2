"""The static-file ceiling: a WSGI app that serves one saved page from disk, as-is."""

import os

PATH = os.environ["BENCH_STATIC_FILE"]


def application(environ, start_response):
    with open(PATH, "rb") as page:
        body = page.read()
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [body]

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """Answer 503 with a friendly page when the database cannot be reached.

    A reader who was posting gets back what they typed, with a note that it was not saved. The
    page is rendered without the request's context, since sessions and users need the database.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("Database unavailable while serving %s: %s", request.path, exception)
        posted_text = request.POST.get("body", "") if request.method == "POST" else ""
        html = render_to_string("503.html", {"posted_text": posted_text})
        response = HttpResponse(html, status=503)
        response["Retry-After"] = "30"
        response["Cache-Control"] = "no-store"
        return response


NULL_CHARACTERS_MESSAGE = "Null characters are not allowed."


def _carries_null(request):
    """Return whether the path, a query parameter, a header or a cookie holds NUL."""
    texts = [request.path]
    for key, values in request.GET.lists():
        texts += [key, *values]
    texts += [value for key, value in request.META.items() if key.startswith("HTTP_")]
    # Cookies apart: a quoted value is unquoted, so the printable "\000" becomes NUL.
    texts += [*request.COOKIES, *request.COOKIES.values()]
    return any("\x00" in str(text) for text in texts)


class RefuseNullCharactersMiddleware:
    """Answer 400 when the path, the query string, a cookie or a header holds a NUL character.

    PostgreSQL cannot store or compare text holding NUL: such a value reaching any query (an
    admin filter, a session key from the cookie, the browser name stored with a comment) would
    be a 500. Posted forms are left to the forms, which refuse NUL field by field with this
    same message and keep what the reader typed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _carries_null(request):
            logger.info("Refused a request with a NUL character: %r", request.path)
            context = {"message": NULL_CHARACTERS_MESSAGE}
            return render(request, "400.html", context, status=400)
        return self.get_response(request)

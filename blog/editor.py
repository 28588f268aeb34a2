"""The markdown editor's server side: live preview and image upload, for editors only.

These views replace django-markdownx's own. Its views check no login (CVE-2024-2319). Its
upload also keeps the uploader's file extension, so anyone could store ``evil.html``
declared as ``image/gif``. The URLs and URL names are the ones markdownx's widget posts to,
so config/urls.py includes these patterns in place of ``markdownx.urls``.

* Both views answer only POST, with a CSRF token, from an active staff user who may change
  articles. Anyone else gets a 403, not a login redirect, because the editor calls them
  from JavaScript.
* The preview is ``render_markdown`` itself, so what the editor shows is what readers get.
* An upload is kept only if Pillow identifies it as a PNG, JPEG, GIF or WebP image. It is
  decoded and encoded again in that format, which drops whatever else the file carried
  (EXIF location data included). It is stored under a random name, with the extension of
  the detected format. Files over ``EDITOR_UPLOAD_MAX_BYTES`` and images over
  ``MAX_PIXELS`` are refused, so a small file cannot unpack into gigabytes. A refusal is a
  400 with a JSON message, in the shape markdownx's script expects.
"""

import posixpath
import uuid
import warnings
from functools import wraps
from io import BytesIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from PIL import Image, ImageOps, UnidentifiedImageError

from .rendering import render_markdown

EDIT_PERMISSION = "blog.change_article"
DEFAULT_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
# All frames together. 24 megapixels is a full-size photo from a good camera and takes
# about 100 MB decoded; Pillow's own bomb limit (89 million) is too high for a web worker.
MAX_PIXELS = 24_000_000
MAX_FRAMES = 500  # counting an animation's frames takes time of its own
# Pillow's name for what it detected -> the format we encode and the extension we store.
FORMATS = {
    "PNG": ("PNG", "png"),
    "JPEG": ("JPEG", "jpg"),
    "MPO": ("JPEG", "jpg"),  # a JPEG with extra pictures (some cameras); the first is kept
    "GIF": ("GIF", "gif"),
    "WEBP": ("WEBP", "webp"),
}
OPENERS = ["PNG", "JPEG", "GIF", "WEBP"]  # Pillow's other decoders are never tried
ANIMATED_FORMATS = {"PNG", "GIF", "WEBP"}
NOT_AN_IMAGE = "The file is not a PNG, JPEG, GIF or WebP image."
TOO_MANY_PIXELS = f"The image has more than {MAX_PIXELS:,} pixels."
# Errors Pillow raises for files that are not what they claim or are cut short.
_UNREADABLE = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)


class UploadRefused(Exception):
    """The upload is not an image the site will store; the message says why."""


def editors_only(view):
    """Answer 403 to anyone but an active staff user with permission to change articles."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff and user.has_perm(EDIT_PERMISSION)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@editors_only
@require_POST
@csrf_protect
def preview(request):
    """Return the markdown in the "content" field as the HTML readers would get."""
    if "content" not in request.POST:
        return HttpResponseBadRequest("The preview needs the markdown in a field named content.")
    return HttpResponse(render_markdown(request.POST["content"]))


@editors_only
@require_POST
@csrf_protect
def upload(request):
    """Store the image in the "image" field, re-encoded, and return its markdown."""
    try:
        data, extension = reencode(request.FILES.get("image"))
    except UploadRefused as refusal:
        return JsonResponse({"image": [str(refusal)]}, status=400)
    name = posixpath.join(settings.MARKDOWNX_MEDIA_PATH, f"{uuid.uuid4().hex}.{extension}")
    name = default_storage.save(name, ContentFile(data))
    return JsonResponse({"image_code": f"![]({default_storage.url(name)})"})


def reencode(uploaded):
    """Return (bytes, extension) of uploaded decoded and encoded again, or raise UploadRefused."""
    if uploaded is None:
        raise UploadRefused("Choose an image to upload.")
    max_bytes = getattr(settings, "EDITOR_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES)
    if uploaded.size > max_bytes:
        raise UploadRefused(f"The file is larger than {max_bytes / 1024 / 1024:g} MB.")
    data = uploaded.read()
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two bomb limits; here that is a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _reencode(data)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UploadRefused(TOO_MANY_PIXELS) from error
    except _UNREADABLE as error:
        raise UploadRefused(NOT_AN_IMAGE) from error


def _reencode(data):
    with Image.open(BytesIO(data), formats=OPENERS) as image:
        if image.format not in FORMATS:
            raise UploadRefused(NOT_AN_IMAGE)
        if image.width * image.height > MAX_PIXELS:
            raise UploadRefused(TOO_MANY_PIXELS)
        # Checks a PNG's chunks; must come straight after open, and leaves the image unusable.
        image.verify()
    with Image.open(BytesIO(data), formats=OPENERS) as image:
        target, extension = FORMATS[image.format]
        frames = _count_frames(image) if target in ANIMATED_FORMATS else 1
        if frames > MAX_FRAMES:
            raise UploadRefused(f"The animation has more than {MAX_FRAMES} frames.")
        if image.width * image.height * frames > MAX_PIXELS:
            raise UploadRefused(TOO_MANY_PIXELS)
        options = {"icc_profile": image.info["icc_profile"]} if "icc_profile" in image.info else {}
        if target in {"JPEG", "WEBP"}:
            options["quality"] = 90
        out = BytesIO()
        if frames > 1:
            image.save(out, target, save_all=True, **options)
        else:
            # Metadata is not copied, so the camera's rotation is applied to the pixels.
            ImageOps.exif_transpose(image).save(out, target, **options)
    return out.getvalue(), extension


def _count_frames(image):
    """Return how many frames image has, counting no further than MAX_FRAMES + 1."""
    if not getattr(image, "is_animated", False):
        return 1
    count = 1
    try:
        while count <= MAX_FRAMES:
            image.seek(count)
            count += 1
    except EOFError:
        pass
    image.seek(0)
    return count


urlpatterns = [
    path("upload/", upload, name="markdownx_upload"),
    path("markdownify/", preview, name="markdownx_markdownify"),
]

"""The markdown editor's preview and upload: editors only, and only real images are stored.

django-markdownx's own views answer anyone (CVE-2024-2319) and store an upload under the
extension its sender chose; blog/editor.py replaces them under the same URLs and names.
"""

from io import BytesIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver, reverse
from markdownx.settings import MARKDOWNX_UPLOAD_URLS_PATH, MARKDOWNX_URLS_PATH
from PIL import Image

from blog import editor
from blog.rendering import render_markdown

pytestmark = pytest.mark.django_db

PREVIEW = reverse("markdownx_markdownify")
UPLOAD = reverse("markdownx_upload")
XHR = {"headers": {"x-requested-with": "XMLHttpRequest"}}
HOSTILE_MARKDOWN = (
    "### Heading\n\n<script>alert(1)</script> [x](javascript:alert(1)) "
    '<img src=x onerror="alert(1)"> **bold**'
)
EVIL_HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
EVIL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.domain)</script></svg>"
)


def image_bytes(format_name, size=(4, 3), mode="RGB", **options):
    out = BytesIO()
    Image.new(mode, size, "red" if mode != "1" else 0).save(out, format_name, **options)
    return out.getvalue()


def animated_gif(count):
    frames = [Image.new("RGB", (4, 4), (40 * number, 0, 0)) for number in range(count)]
    out = BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def upload_file(name, content, content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files(settings):
    return sorted(path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file())


@pytest.fixture
def editor_user(django_user_model):
    """Staff with permission to change articles, and nothing more."""
    user = django_user_model.objects.create_user("editor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_article"))
    return user


@pytest.fixture
def editor_client(client, editor_user):
    client.force_login(editor_user)
    return client


def png_upload():
    return {"image": upload_file("photo.png", image_bytes("PNG"))}


@pytest.fixture(params=["anonymous", "reader", "staff without permission"])
def outsider_client(request, client, django_user_model):
    if request.param == "reader":
        client.force_login(django_user_model.objects.create_user("reader"))
    elif request.param == "staff without permission":
        client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))
    return client


def test_outsiders_get_403_and_nothing_is_written(outsider_client, settings):
    """Anonymous users get a 403 too, not a login redirect: the editor calls these by XHR."""
    assert outsider_client.post(PREVIEW, {"content": "*hi*"}, **XHR).status_code == 403
    assert outsider_client.post(UPLOAD, png_upload(), **XHR).status_code == 403
    assert stored_files(settings) == []


def test_both_views_answer_post_only(editor_client):
    assert editor_client.get(PREVIEW, {"content": "*hi*"}).status_code == 405
    assert editor_client.get(UPLOAD).status_code == 405


def test_posts_without_a_csrf_token_are_refused(editor_user, settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor_user)
    assert client.post(PREVIEW, {"content": "*hi*"}, **XHR).status_code == 403
    assert client.post(UPLOAD, png_upload(), **XHR).status_code == 403
    assert stored_files(settings) == []


def test_the_widget_posts_to_our_views_and_markdownx_views_are_unreachable():
    """markdownx's widget posts to fixed paths; those must resolve to blog.editor's views."""
    assert (PREVIEW, UPLOAD) == (MARKDOWNX_URLS_PATH, MARKDOWNX_UPLOAD_URLS_PATH)
    assert get_resolver().resolve(PREVIEW).func is editor.preview
    assert get_resolver().resolve(UPLOAD).func is editor.upload

    def callbacks(resolver):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                yield from callbacks(pattern)
            else:
                yield pattern.callback

    modules = {getattr(view, "__module__", "") or "" for view in callbacks(get_resolver())}
    assert not [module for module in modules if module.startswith("markdownx")]


def test_preview_is_exactly_the_published_rendering(editor_client):
    response = editor_client.post(PREVIEW, {"content": HOSTILE_MARKDOWN}, **XHR)
    assert response.status_code == 200
    assert response.content.decode() == render_markdown(HOSTILE_MARKDOWN)
    assert "<script" not in response.content.decode()


def test_a_superuser_may_preview(client, staff_user):
    client.force_login(staff_user)
    assert client.post(PREVIEW, {"content": "*hi*"}, **XHR).status_code == 200


def test_preview_without_content_is_a_400_with_a_message(editor_client):
    response = editor_client.post(PREVIEW, {"text": "*hi*"}, **XHR)
    assert response.status_code == 400
    assert b"content" in response.content


def test_a_png_is_stored_re_encoded_under_a_random_png_name(editor_client, settings):
    response = editor_client.post(UPLOAD, png_upload(), **XHR)
    assert response.status_code == 200
    [stored] = stored_files(settings)
    assert stored.suffix == ".png"
    assert stored.parent == Path(settings.MEDIA_ROOT) / settings.MARKDOWNX_MEDIA_PATH
    assert stored.stem != "photo"
    assert response.json() == {"image_code": f"![](/media/uploads/{stored.name})"}
    with Image.open(stored) as image:
        assert (image.format, image.size) == ("PNG", (4, 3))


def test_bytes_after_the_image_are_not_kept(editor_client, settings):
    """Re-encoding keeps the pixels only: a payload appended to a valid PNG is dropped."""
    upload = upload_file("x.png", image_bytes("PNG") + EVIL_HTML)
    assert editor_client.post(UPLOAD, {"image": upload}, **XHR).status_code == 200
    [stored] = stored_files(settings)
    assert b"<script" not in stored.read_bytes()


def test_the_extension_comes_from_the_detected_format(editor_client, settings):
    """A JPEG sent as x.png with type image/png is stored as .jpg."""
    upload = upload_file("x.png", image_bytes("JPEG"), "image/png")
    assert editor_client.post(UPLOAD, {"image": upload}, **XHR).status_code == 200
    [stored] = stored_files(settings)
    assert stored.suffix == ".jpg"
    assert stored.read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("format_name", "suffix"), [("GIF", ".gif"), ("WEBP", ".webp"), ("JPEG", ".jpg")]
)
def test_each_supported_format_is_stored_in_that_format(
    editor_client, settings, format_name, suffix
):
    upload = upload_file("picture", image_bytes(format_name), "application/octet-stream")
    assert editor_client.post(UPLOAD, {"image": upload}, **XHR).status_code == 200
    [stored] = stored_files(settings)
    assert stored.suffix == suffix
    with Image.open(stored) as image:
        assert image.format == format_name


def test_an_animated_gif_stays_animated(editor_client, settings):
    upload = upload_file("anim.gif", animated_gif(3), "image/gif")
    assert editor_client.post(UPLOAD, {"image": upload}, **XHR).status_code == 200
    [stored] = stored_files(settings)
    with Image.open(stored) as image:
        assert image.n_frames == 3


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        pytest.param("evil.html", EVIL_HTML, "image/gif", id="html-declared-gif"),
        pytest.param("evil.svg", EVIL_SVG, "image/svg+xml", id="svg-with-script"),
        pytest.param("evil.gif", b"GIF89a" + EVIL_HTML, "image/gif", id="gif-magic-then-html"),
        pytest.param("cut.png", image_bytes("PNG", (64, 64))[:60], "image/png", id="truncated"),
        pytest.param("empty.png", b"", "image/png", id="empty"),
        pytest.param("x.bmp", image_bytes("BMP"), "image/bmp", id="bmp"),
        pytest.param("x.tif", image_bytes("TIFF"), "image/tiff", id="tiff"),
    ],
)
def test_anything_but_a_readable_raster_image_is_a_400_and_not_stored(
    editor_client, settings, name, content, content_type
):
    upload = upload_file(name, content, content_type)
    response = editor_client.post(UPLOAD, {"image": upload}, **XHR)
    assert response.status_code == 400
    assert list(response.json()) == ["image"]
    assert response.json()["image"][0]
    assert stored_files(settings) == []


def test_a_file_over_the_size_limit_is_refused(editor_client, settings):
    settings.EDITOR_UPLOAD_MAX_BYTES = 100
    upload = upload_file("big.png", image_bytes("PNG", (200, 200), "RGB", compress_level=0))
    response = editor_client.post(UPLOAD, {"image": upload}, **XHR)
    assert response.status_code == 400
    assert "larger than" in response.json()["image"][0]
    assert stored_files(settings) == []


def test_a_missing_image_field_is_a_400_with_a_message(editor_client, settings):
    response = editor_client.post(UPLOAD, {"file": upload_file("x.png", image_bytes("PNG"))})
    assert response.status_code == 400
    assert response.json() == {"image": ["Choose an image to upload."]}


def test_an_image_with_too_many_pixels_is_refused(editor_client, settings):
    """A few KB of PNG can declare an image that takes hundreds of MB to decode."""
    bomb = image_bytes("PNG", (5000, 5000), "1")
    assert len(bomb) < 100_000
    response = editor_client.post(UPLOAD, {"image": upload_file("bomb.png", bomb)}, **XHR)
    assert response.status_code == 400
    assert "pixels" in response.json()["image"][0]
    assert stored_files(settings) == []


@pytest.mark.parametrize("pixels", [1_000, 2_000], ids=["bomb-error", "bomb-warning"])
def test_pillows_decompression_bomb_checks_become_400s(
    editor_client, settings, monkeypatch, pixels
):
    """Pillow warns over MAX_IMAGE_PIXELS and raises over twice that; both are refusals."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixels)
    upload = upload_file("bomb.png", image_bytes("PNG", (50, 50)))  # 2,500 pixels
    response = editor_client.post(UPLOAD, {"image": upload}, **XHR)
    assert response.status_code == 400
    assert "pixels" in response.json()["image"][0]
    assert stored_files(settings) == []


def test_an_animation_with_too_many_frames_is_refused(editor_client, settings, monkeypatch):
    monkeypatch.setattr(editor, "MAX_FRAMES", 2)
    upload = upload_file("anim.gif", animated_gif(3), "image/gif")
    response = editor_client.post(UPLOAD, {"image": upload}, **XHR)
    assert response.status_code == 400
    assert stored_files(settings) == []

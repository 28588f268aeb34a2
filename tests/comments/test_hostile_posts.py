"""Every naughty string, posted as a comment's text, as its author's name and as their website.

Each post must end as a stored pending comment holding the normalised string, or as the form
shown again with an error: never a 500. Run on PostgreSQL too (README), where a NUL or an
over-long value that slipped through would be a DataError.

The strings are the Big List of Naughty Strings (tests/data/blns/blns.json: 515 strings, MIT,
minimaxir/big-list-of-naughty-strings). It holds no NUL, no over-long text and no pathological
markdown on purpose, so those are added here.
"""

import json
import re
import unicodedata

import pytest
from django.test import Client
from django.urls import reverse

from comments.models import Comment
from tests.conftest import DATA, comment_form_data, make_article

pytestmark = pytest.mark.django_db

BLNS = DATA / "blns" / "blns.json"
ADDED = [
    "\x00",
    "a\x00b",
    "Text with a NUL \x00 in the middle.",
    "https://example.org/\x00",
    "x" * 5001,
    "[" * 3000,
    "*a" * 2500,
    "> " * 2500,
    "\u0958" * 80,  # 80 characters that NFC makes 160
    "e\u0301" * 2600,  # 5,200 characters that NFC makes 2,600
    "\u202egnp.exe",
    "\u200b\u200c\u200d\u2060\ufeff",
    "https://exa\u202emple.org/",
    "https://example.org/" + "a" * 181,
    "javascript:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
]
# Names lose bidi controls and zero-width characters (comments/forms.py).
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def naughty_strings():
    return json.loads(BLNS.read_text(encoding="utf-8")) + ADDED


def test_the_corpus_is_complete():
    strings = json.loads(BLNS.read_text(encoding="utf-8"))
    assert len(strings) == 515
    assert all(isinstance(s, str) for s in strings)


def stored_as(field, value):
    """Return what the field should hold after the form has cleaned value."""
    text = unicodedata.normalize("NFC", value).strip()
    return INVISIBLE.sub("", text).strip() if field == "author_name" else text


def post_every_string(article, field):
    """Post each string in the field; return the list of posts that broke the rule."""
    url = reverse("comments:post", kwargs={"slug": article.slug})
    problems = []
    for number, value in enumerate(naughty_strings()):
        # A text of its own for every post, so that no post is refused as a duplicate.
        fields = {"body": f"Perspective number {number}.", field: value}
        before = Comment.objects.count()
        client = Client(raise_request_exception=False)
        response = client.post(url, comment_form_data(article, **fields))
        added = Comment.objects.count() - before
        status = response.status_code
        if status == 302 and added == 1:
            comment = Comment.objects.latest("pk")
            if comment.status != Comment.Status.PENDING:
                problems.append(f"{value!r}: stored as {comment.status}")
            elif field == "author_url" and not re.match(r"(https?://|$)", comment.author_url):
                problems.append(f"{value!r}: stored website {comment.author_url!r}")
            elif field != "author_url" and getattr(comment, field) != stored_as(field, value):
                problems.append(f"{value!r}: stored as {getattr(comment, field)!r}")
        elif status == 400 and added == 0:
            if 'class="comment-form__errors"' not in response.content.decode():
                problems.append(f"{value!r}: 400 without the form's errors")
        else:
            problems.append(f"{value!r}: HTTP {status}, {added} rows stored")
    return problems


@pytest.mark.parametrize("field", ["body", "author_name", "author_url"])
def test_every_naughty_string_is_stored_pending_or_refused_with_a_form_error(db, settings, field):
    settings.COMMENTS_RATE_LIMIT = 0
    # No sections: a refused post shows the article page again, and this keeps that quick.
    problems = post_every_string(make_article("Naughty strings", sections=0), field)
    count = len(naughty_strings())
    assert not problems, f"{len(problems)} of {count} posts as {field} broke the rule:\n" + (
        "\n".join(problems)
    )

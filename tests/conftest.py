import base64
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from blog.models import Article, Insight, Section
from comments.models import Comment
from comments.spam import sign_timestamp

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    """Hash passwords cheaply, keep uploads out of the working tree, start with a cold cache."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "staff", "staff@example.com", "pw", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def make_article(title="An article", sections=1, insights=1, **fields):
    fields.setdefault("status", Article.Status.PUBLISHED)
    fields.setdefault("published_at", timezone.now() - timedelta(days=1))
    article = Article.objects.create(title=title, introduction="Opening words.", **fields)
    for number in range(sections):
        section = Section.objects.create(
            article=article, position=number, heading=f"Section {number}", body=f"Body {number}."
        )
        for index in range(insights):
            Insight.objects.create(
                section=section, position=index, audience="Analysts", action=f"should act {index}."
            )
    return article


@pytest.fixture
def article(db):
    return make_article()


@pytest.fixture
def demo_article(db):
    from blog.importing import import_article
    from blog.management.commands.load_demo import DEMO_ARTICLE

    return import_article(DEMO_ARTICLE)[0]


def make_comment(article, body="A considered perspective.", **fields):
    """Create a comment, approved unless a status is given."""
    fields.setdefault("status", Comment.Status.APPROVED)
    fields.setdefault("author_name", "Reader")
    fields.setdefault("author_email", "reader@example.org")
    return Comment.objects.create(article=article, body=body, **fields)


@pytest.fixture
def comment(article):
    return make_comment(article)


@pytest.fixture
def moderator(django_user_model):
    user = django_user_model.objects.create_user(
        "moderator", "moderator@example.com", "pw", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


def comment_form_data(article, /, **overrides):
    """Return a valid comment POST for the article: a form served 10 s ago, honeypot empty."""
    return {
        "author_name": "Aiko Tanaka",
        "author_email": "aiko@example.org",
        "author_url": "",
        "body": "Diplomacy deserves a line in the budget too.",
        "homepage": "",
        "timestamp": sign_timestamp(article.pk, at=time.time() - 10),
        **overrides,
    }


@pytest.fixture(autouse=True)
def _commenter_mail_in_the_test(settings):
    """Send commenter mails in the test's own thread, where mailoutbox sees them at once."""
    settings.COMMENTS_MAIL_IN_BACKGROUND = False


def forge_token(token, **payload):
    """Return a signed token with this JSON payload in place of its own, signature kept."""
    data = json.dumps(payload, separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(data).decode().rstrip("=")
    return ":".join([encoded, *token.split(":")[1:]])

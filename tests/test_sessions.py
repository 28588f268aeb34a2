from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_is_inserted_without_looking_its_key_up_first():
    session = SessionStore()
    session["seen"] = True
    with CaptureQueriesContext(connection) as queries:
        session.save()
    statements = [query["sql"].split()[0].upper() for query in queries]
    assert "SELECT" not in statements
    assert Session.objects.filter(session_key=session.session_key).exists()


def test_a_key_already_taken_is_drawn_again():
    taken = SessionStore()
    taken.save()
    keys = iter([taken.session_key, "k" * 32])
    with mock.patch("config.sessions.get_random_string", side_effect=lambda *a: next(keys)):
        session = SessionStore()
        session["seen"] = True
        session.save()
    assert session.session_key == "k" * 32
    assert SessionStore(taken.session_key).load() == {}
    assert SessionStore("k" * 32).load() == {"seen": True}

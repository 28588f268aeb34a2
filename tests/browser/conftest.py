"""Fixtures for the tests that drive a real browser: Debian's Chromium, through Playwright.

Every test here is marked ``browser``. ``python3 dev.py test`` leaves them out, and says so, on a
machine without Chromium or axe-core; ``.ci/run`` installs both and sets
PERSPECTIVES_REQUIRE_BROWSER=1. However the tests are selected, a missing browser or axe-core is
an error here, never a skip, so a green run always means the pages were really loaded.

The site runs in pytest-django's ``live_server`` thread, so these tests use ``transactional_db``:
each test's rows are committed, and the tables are emptied after it. Rows that migrations create
(the Moderators group, the moderation rules) are therefore gone in all but the first such test;
fixtures here log in as a superuser and make everything else they need.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
# Playwright cannot download a browser of its own here, so it drives Debian's.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    # Without these Chromium keeps calling Google's services, which a closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
# .ci/run installs axe-core there; AXE_CORE_JS points elsewhere if it was installed elsewhere.
AXE_CORE_JS = Path(
    os.environ.get("AXE_CORE_JS")
    or ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}

# Chromium may resolve "localhost" to ::1 while the server listens on IPv4: name the address.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

# Lines for the "browser checks" section at the end of the pytest output, so that CI's log shows
# axe's counts and what the hostile-input test tried without running pytest with -s.
SUMMARY = []


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("browser checks")
        for line in SUMMARY:
            terminalreporter.write_line(line)


@pytest.fixture
def report():
    """Return a function that adds a line to the "browser checks" summary."""
    return SUMMARY.append


@pytest.fixture(scope="module")
def playwright():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing, so the browser tests cannot run: install Debian's chromium "
            "(apt-get install chromium), or run `python3 dev.py test`, which leaves them out "
            "with a notice on a machine without it.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio event loop running in this thread, so Django takes
    # every ORM call a test makes here for one made from async code and refuses it
    # (SynchronousOnlyOperation). Those calls are in fact synchronous: allow them while
    # Playwright runs, and only then.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    yield manager
    manager.stop()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser, live_server):
    """Return a function making a browser context (a fresh profile) aimed at the live server.

    Its options are Playwright's: ``color_scheme="dark"``, ``bypass_csp=True`` and so on. Motion
    is reduced unless asked for, so that the site's smooth scrolling does not hold up every
    click while Playwright waits for the target to stop moving.
    """
    contexts = []

    def make(**options):
        options.setdefault("reduced_motion", "reduce")
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """Return a page in a fresh context, as an anonymous reader in light mode sees the site."""
    return new_context().new_page()


@pytest.fixture
def log_in(live_server, staff_user):
    """Return a function that signs a browser context in, as the superuser ``staff`` by default.

    The session comes from Django's test client, so the admin login form and django-axes are
    not part of these tests.
    """

    def sign_in(context, user=staff_user):
        client = Client()
        client.force_login(user)
        session = client.cookies[django_settings.SESSION_COOKIE_NAME]
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": session.value,
                    "url": live_server.url,
                }
            ]
        )
        return context

    return sign_in


@pytest.fixture
def logged_in_admin_page(new_context, log_in):
    """Return a page whose context is signed in to the admin as a superuser."""
    return log_in(new_context()).new_page()


@pytest.fixture(scope="session")
def axe_source():
    if not AXE_CORE_JS.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE_CORE_JS}): install it with `npm install --no-save "
            "--no-package-lock --prefix .ci/node axe-core@4` or set AXE_CORE_JS to its "
            "axe.min.js.",
            pytrace=False,
        )
    return AXE_CORE_JS.read_text(encoding="utf-8")


@pytest.fixture
def axe(axe_source, report):
    """Return a function that runs axe-core on a page and returns its blocking violations.

    axe checks the WCAG 2.0 and 2.1 A and AA rules, colour contrast included. Its script is
    run through Playwright's evaluate, which the page's Content-Security-Policy does not
    govern, so the page under test keeps its real policy. Every run adds a line to the summary.
    """

    def run(page, name):
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source)
        result = page.evaluate(
            """tags => axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            })""",
            AXE_TAGS,
        )
        violations = result["violations"]
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        scheme = page.evaluate(
            "() => matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'"
        )
        report(
            f"axe: {name} {scheme}: {len(violations)} violations "
            f"(serious/critical: {len(blocking)}); {len(result['passes'])} rules passed"
            + "".join(f"\n    {describe_violation(v)}" for v in violations)
        )
        return [f"{name} ({scheme}): {describe_violation(v)}" for v in blocking]

    return run


def describe_violation(violation):
    """Return one line naming an axe rule, its impact and the elements that break it."""
    targets = "; ".join(
        f"{' '.join(map(str, node['target']))} {node['html'][:120]!r}"
        for node in violation["nodes"][:5]
    )
    more = len(violation["nodes"]) - 5
    return f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}" + (
        f" … and {more} more" if more > 0 else ""
    )

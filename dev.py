#!/usr/bin/env python3
"""Set up a working copy and run it: the README's two commands.

    python3 dev.py serve    # venv, install, migrate, demo article + staff login, serve on :8000
    python3 dev.py test     # the same set-up, then the whole test suite (extra args go to pytest)
    python3 dev.py bench    # the same set-up, then the benchmark in bench/ (needs PostgreSQL)

Only the Python standard library is used here, because this runs before anything is installed.
The virtual environment lives in .venv and is reinstalled only when pyproject.toml changes.
"""

import hashlib
import os
import socket
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-from"

# The browser tests (marker "browser") drive Debian's Chromium, and the accessibility ones run
# axe-core from npm in it. .ci/run installs both and sets PERSPECTIVES_REQUIRE_BROWSER=1; on a
# machine without them `test` leaves those tests out and says so (tests/browser/conftest.py).
CHROMIUM = Path("/usr/bin/chromium")
AXE_CORE_JS = Path(
    os.environ.get("AXE_CORE_JS") or ROOT / ".ci/node/node_modules/axe-core/axe.min.js"
)

DEMO_USERNAME = "editor"
DEMO_PASSWORD = "perspectives-demo"  # noqa: S105 - a local demo account, printed on purpose


def run(*args, env=None):
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=True)


def ensure_environment():
    """Create .venv and install the project with its test tools, unless already current."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV.name}/", flush=True)
        venv.create(VENV, with_pip=True)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        # The project runs from this folder, so only its dependencies are installed.
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        requirements = project["dependencies"] + project["optional-dependencies"]["dev"]
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(PYTHON, "-m", "pip", "install", "--quiet", *requirements)
        STAMP.write_text(wanted)


def serve():
    env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1")}
    manage = [PYTHON, "manage.py"]
    run(*manage, "migrate", "--noinput", env=env)
    run(*manage, "load_demo", "--username", DEMO_USERNAME, "--password", DEMO_PASSWORD, env=env)
    print(
        "\nPerspectives is running at http://127.0.0.1:8000/\n"
        f"Staff login at http://127.0.0.1:8000/admin/  user: {DEMO_USERNAME}  "
        f"password: {DEMO_PASSWORD}\n",
        flush=True,
    )
    os.chdir(ROOT)
    os.execve(str(PYTHON), [str(PYTHON), "manage.py", "runserver", "127.0.0.1:8000"], env)


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _required(name):
    return os.environ.get(name, "") not in {"", "0"}


def left_out_markers():
    """Return the test markers this machine cannot run, saying why; CI requires them all."""
    left_out = []
    missing = [
        f"{name} ({path})"
        for name, path in [("Chromium", CHROMIUM), ("axe-core", AXE_CORE_JS)]
        if not path.exists()
    ]
    if missing and not _required("PERSPECTIVES_REQUIRE_BROWSER"):
        print(
            f"\nNOTE: the browser tests are left out (-m 'not browser'): {' and '.join(missing)} "
            "missing. Install them with `apt-get install chromium` and `npm install --no-save "
            "--no-package-lock --prefix .ci/node axe-core@4`, as .ci/run does, to run them.\n",
            flush=True,
        )
        left_out.append("browser")
    services = [
        name for name, port in [("PostgreSQL", 5432), ("Redis", 6379)] if not _answers(port)
    ]
    if services and not _required("PERSPECTIVES_REQUIRE_SERVICES"):
        print(
            f"\nNOTE: the tests marked 'services' are left out: {' and '.join(services)} not "
            "answering on 127.0.0.1. They start app servers against a shared PostgreSQL and "
            "Redis, as .ci/run does.\n",
            flush=True,
        )
        left_out.append("services")
    return ["-m", " and ".join(f"not {marker}" for marker in left_out)] if left_out else []


def test(args):
    checks_env = {**os.environ, "DJANGO_DEBUG": "1"}
    run(PYTHON, "-m", "ruff", "check", ".")
    run(PYTHON, "-m", "ruff", "format", "--check", ".")
    run(PYTHON, "manage.py", "check", "--fail-level", "WARNING", env=checks_env)
    run(PYTHON, "manage.py", "makemigrations", "--check", "--dry-run", env=checks_env)
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), "-m", "pytest", *left_out_markers(), *args])


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in {"serve", "test", "bench"}:
        sys.exit(__doc__)
    ensure_environment()
    if command == "serve":
        serve()
    elif command == "bench":
        os.chdir(ROOT)
        os.execv(str(PYTHON), [str(PYTHON), "-m", "bench.run", *sys.argv[2:]])
    else:
        test(sys.argv[2:])


if __name__ == "__main__":
    main()

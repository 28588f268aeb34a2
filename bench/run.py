"""Benchmark the article page against a static-file ceiling, and comment posting.

    python3 dev.py bench [--seconds 10] [--sizes 0,200,2000]

Seeds an article with 0, 200 and 2,000 approved threaded comments into PostgreSQL, serves the
site with gunicorn (production settings, 2 sync workers) and, in the same run, the same page
saved as a static file through the same gunicorn and through nginx when it is installed. Each is
driven from 127.0.0.1 by wrk (a Python load generator when wrk is missing) for a fixed time.
Then 8 concurrent clients post comments with every spam check on, and every POST is accounted
for against the rows stored. Timings on a shared machine are noisy: read the ratios, which are
measured side by side in one run.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/perspectives_bench"
CONNECTIONS = 16
POST_CLIENTS = 8


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port, path="/healthz", timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


class Server:
    """A process serving HTTP on 127.0.0.1 for the duration of a with-block."""

    def __init__(self, args, port, env=None, health="/healthz"):
        self.args, self.port, self.env, self.health = args, port, env, health

    def __enter__(self):
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            wait_for(self.port, self.health)
        except RuntimeError:
            self.process.kill()
            raise RuntimeError(self.process.stderr.read().decode()[-2000:]) from None
        return self

    def worker_peak_memory_mb(self):
        """Peak resident memory (VmHWM) of each gunicorn worker, in MB."""
        peaks = []
        for child in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = child.read_text().split()
                if int(fields[3]) == self.process.pid:
                    status = (child.parent / "status").read_text()
                    peaks.append(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024)
            except (OSError, AttributeError, ValueError):
                continue
        return peaks

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def gunicorn(app, port, env):
    return Server(
        [
            sys.executable, "-m", "gunicorn", app,
            "--workers", "2", "--bind", f"127.0.0.1:{port}",
            "--access-logfile", "/dev/null", "--error-logfile", "-",
        ],
        port,
        env,
    )  # fmt: skip


# -- load generation ----------------------------------------------------------------------


def load(url, seconds, headers=None):
    """Drive url for a fixed time; return requests/s, p50 and p99 in ms, bytes per response."""
    if shutil.which("wrk"):
        return _load_wrk(url, seconds, headers or {})
    return _load_python(url, seconds, headers or {})


def _load_wrk(url, seconds, headers):
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout

    def latency(label):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    read = re.search(r"requests in [\d.]+\w+, ([\d.]+)([KMG]?B) read", out).groups()
    total = float(read[0]) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[read[1]]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "bytes": total / max(requests, 1),
        "errors": int(errors.group(1)) if errors else 0,
    }


def _load_python(url, seconds, headers):
    host_port, path = url.split("//", 1)[1].split("/", 1)
    host, port = host_port.split(":")
    latencies, sizes, errors = [], [], [0]
    deadline = time.monotonic() + seconds
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine, my_sizes = [], []
        while time.monotonic() < deadline:
            start = time.perf_counter()
            conn.request("GET", "/" + path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            mine.append((time.perf_counter() - start) * 1000)
            my_sizes.append(len(body))
            if response.status >= 400:
                errors[0] += 1
        with lock:
            latencies.extend(mine)
            sizes.extend(my_sizes)

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "bytes": statistics.mean(sizes),
        "errors": errors[0],
    }


# -- the site under test ---------------------------------------------------------------------


def site_env(database_url, cache_seconds, cache_url, static_root, fragment_seconds=600):
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-" + "x" * 30,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: no TLS redirect, no secure-only cookies.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_HSTS_SECONDS": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        # The POST clients stand in for many readers behind one proxy: see post_comments.
        "DJANGO_TRUSTED_PROXY_COUNT": "1",
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "ARTICLE_PAGE_CACHE_SECONDS": str(cache_seconds),
        "ARTICLE_FRAGMENT_CACHE_SECONDS": str(fragment_seconds),
        "DJANGO_STATIC_ROOT": str(static_root),
    }


def prepare_database(database_url, env):
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def django_shell(env, code):
    """Run code in `manage.py shell` with the site's environment; return what it printed."""
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def seed(env, sizes):
    """Create one article per size with that many approved threaded comments; return slugs."""
    code = (
        "from bench.seed import seed_articles; import json; "
        f"print(json.dumps(seed_articles({list(sizes)!r})))"
    )
    out = django_shell(env, code)
    return {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def nginx_server(folder, port):
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type text/html;
    client_body_temp_path {folder};
    proxy_temp_path {folder};
    fastcgi_temp_path {folder};
    uwsgi_temp_path {folder};
    scgi_temp_path {folder};
    server {{
        listen 127.0.0.1:{port};
        root {folder};
        location = /healthz {{ return 200 "ok"; }}
    }}
}}
"""
    )
    return Server(["nginx", "-c", str(conf), "-g", "daemon off;"], port)


# -- comment posting ---------------------------------------------------------------------------


def post_comments(port, slug, seconds, env):
    """8 clients post comments for a fixed time; return posts/s and the accounting."""
    forms = []

    def fetch_form(client_number):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/articles/{slug}/")
        response = conn.getresponse()
        html = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
        return conn, cookie, fields

    counts = {"sent": 0, "redirected": 0, "other": {}}
    lock = threading.Lock()
    deadline = [0.0]
    run_id = str(int(time.time()))

    def client(number):
        conn, cookie, fields = fetch_form(number)
        forms.append(fields)
        # The signed timestamp refuses forms posted within seconds of being served.
        time.sleep(max(0, start_at - time.monotonic()))
        sequence = 0
        while time.monotonic() < deadline[0]:
            sequence += 1
            body = {
                **fields,
                "author_name": f"Bench reader {number}",
                "author_email": f"reader{number}-{sequence}@bench.example",
                "body": f"Benchmark perspective {run_id}-{number}-{sequence}: on balance yes.",
            }
            conn.request(
                "POST",
                f"/articles/{slug}/comments/",
                body=urlencode(body),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie,
                    # Distinct readers behind our one trusted proxy, for the per-address limit.
                    "X-Forwarded-For": f"10.{number}.{sequence // 250}.{sequence % 250}",
                },
            )
            response = conn.getresponse()
            response.read()
            with lock:
                counts["sent"] += 1
                if response.status == 302:
                    counts["redirected"] += 1
                else:
                    counts["other"][response.status] = counts["other"].get(response.status, 0) + 1

    start_at = time.monotonic() + 3.5
    deadline[0] = start_at + seconds
    threads = [threading.Thread(target=client, args=(n,)) for n in range(POST_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    code = (
        "from comments.models import Comment; "
        f"qs = Comment.objects.filter(body__startswith='Benchmark perspective {run_id}-'); "
        "print(qs.count(), qs.values('body').distinct().count())"
    )
    out = django_shell(env, code).split()
    stored, distinct = int(out[-2]), int(out[-1])
    return {
        "rate": counts["redirected"] / seconds,
        "sent": counts["sent"],
        "redirected": counts["redirected"],
        "other": counts["other"],
        "stored": stored,
        "distinct": distinct,
    }


# -- the run -----------------------------------------------------------------------------------


def redis_available():
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def row(name, result, ceiling=None):
    ratio = f"{result['rps'] / ceiling['rps']:.2f}" if ceiling else "—"
    errors = f"  errors {result['errors']}" if result.get("errors") else ""
    return (
        f"| {name:<34} | {result['rps']:>9.0f} | {result['p50']:>8.1f} | {result['p99']:>8.1f} "
        f"| {result['bytes'] / 1024:>7.1f} | {ratio:>6} |{errors}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--sizes", default="0,200,2000")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    options = parser.parse_args()
    database_url = options.database_url or DEFAULT_DATABASE_URL
    sizes = [int(n) for n in options.sizes.split(",")]
    cache_url = "redis://127.0.0.1:6379/7" if redis_available() else "locmem://"

    with tempfile.TemporaryDirectory(prefix="perspectives-bench-") as tmp:
        folder = Path(tmp)
        static_root = folder / "static"
        cached_env = site_env(database_url, 600, cache_url, static_root)
        # "Page cache off" is what a reader with a session gets; "no cache" renders everything.
        uncached_env = site_env(database_url, 0, cache_url, static_root)
        nothing_env = site_env(database_url, 0, cache_url, static_root, fragment_seconds=0)
        prepare_database(database_url, cached_env)
        slugs = seed(cached_env, sizes)
        print(
            f"gunicorn 2 sync workers, {CONNECTIONS} connections, {options.seconds}s per row, "
            f"cache {cache_url}, load generator {'wrk' if shutil.which('wrk') else 'python'}\n"
        )
        header = (
            "| page | req/s | p50 ms | p99 ms | KB/resp | ratio |\n|---|---:|---:|---:|---:|---:|"
        )
        lines, memory = [], []

        def empty_cache():
            # Each row starts cold: no row may read pages or fragments another row stored.
            if cache_url.startswith("redis"):
                import redis

                redis.Redis(db=7).flushdb()

        site_port = free_port()
        for size in sizes:
            url = f"http://127.0.0.1:{site_port}/articles/{slugs[size]}/"
            empty_cache()
            with gunicorn("config.wsgi", site_port, cached_env) as site:
                page = http.client.HTTPConnection("127.0.0.1", site_port)
                page.request("GET", f"/articles/{slugs[size]}/")
                html = page.getresponse().read()
                (folder / f"page-{size}.html").write_bytes(html)
                cached = load(url, options.seconds)
                memory += site.worker_peak_memory_mb()
            empty_cache()
            with gunicorn("config.wsgi", site_port, uncached_env) as site:
                uncached = load(url, options.seconds)
                memory += site.worker_peak_memory_mb()
            empty_cache()
            with gunicorn("config.wsgi", site_port, nothing_env) as site:
                no_cache = load(url, options.seconds)
                memory += site.worker_peak_memory_mb()
            static_port = free_port()
            static_env = {**os.environ, "BENCH_STATIC_FILE": str(folder / f"page-{size}.html")}
            with Server(
                [
                    sys.executable, "-m", "gunicorn", "bench.static_app:application",
                    "--workers", "2", "--bind", f"127.0.0.1:{static_port}",
                    "--access-logfile", "/dev/null",
                ],
                static_port,
                static_env,
                health="/",
            ):  # fmt: skip
                ceiling = load(f"http://127.0.0.1:{static_port}/", options.seconds)
            lines.append(row(f"static file via gunicorn, N={size}", ceiling))
            if shutil.which("nginx"):
                nginx_port = free_port()
                shutil.copy(folder / f"page-{size}.html", folder / "index.html")
                with nginx_server(folder, nginx_port):
                    lines.append(
                        row(
                            f"static file via nginx, N={size}",
                            load(f"http://127.0.0.1:{nginx_port}/index.html", options.seconds),
                        )
                    )
            lines.append(row(f"article, cached, N={size}", cached, ceiling))
            lines.append(row(f"article, page cache off, N={size}", uncached, ceiling))
            lines.append(row(f"article, no cache at all, N={size}", no_cache, ceiling))
            print("\n".join([header, *lines[-5:]]), flush=True)
        print("\n" + "\n".join([header, *lines]))
        print(f"\nPeak memory per worker: {max(memory):.0f} MB (max of {len(memory)} workers)")

        with gunicorn("config.wsgi", site_port, cached_env):
            posts = post_comments(site_port, slugs[sizes[-1]], options.seconds, cached_env)
        other = ", ".join(f"{k}: {v}" for k, v in posts["other"].items()) or "none"
        print(
            f"\nComment POSTs, {POST_CLIENTS} clients, all spam checks on: "
            f"{posts['rate']:.0f}/s accepted; sent {posts['sent']}, redirected (stored) "
            f"{posts['redirected']}, other answers {other}; rows stored {posts['stored']}, "
            f"distinct bodies {posts['distinct']}: "
            + (
                "every POST accounted for"
                if posts["stored"] == posts["distinct"] == posts["redirected"]
                else "MISMATCH"
            )
        )


if __name__ == "__main__":
    main()

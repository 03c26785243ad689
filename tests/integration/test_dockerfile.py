"""The image without a container engine: the Dockerfile's own steps, run here.

The test reads the Dockerfile, performs its COPY and RUN steps in a fresh
virtualenv and folder, starts its CMD with its ENV (bound to loopback rather
than 0.0.0.0), and checks that the server answers as the probes will.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tools.driver import free_port

REPO = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    lines, current = [], ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = current.partition(" ")
            lines.append((word.upper(), rest.strip()))
            current = ""
    return lines


def test_dockerfile_is_pinned_and_non_root():
    steps = instructions()
    base = next(rest for word, rest in steps if word == "FROM")
    assert ":" in base and "latest" not in base, "the base image is pinned"
    assert any(word == "USER" and not rest.startswith("0") for word, rest in steps)


@pytest.mark.timeout(600)
def test_install_and_start_commands_serve_the_hooks(tmp_path):
    steps = instructions()
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }
    cmd = None
    for word, rest in steps:
        if word == "ENV":
            parts = shlex.split(rest)
            for part in parts:
                key, _, value = part.partition("=")
                env[key] = value
        elif word == "COPY":
            source, target = shlex.split(rest)
            src = REPO / source
            dst = app_dir / target.removeprefix("./")
            if src.is_dir():
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(src, dst if not target.endswith("/") else app_dir / src.name)
        elif word == "RUN" and "pip install" in rest:
            subprocess.run(rest, shell=True, cwd=app_dir, env=env, check=True, timeout=540)
        elif word == "CMD":
            cmd = json.loads(rest)
    assert cmd and cmd[0] == "gunicorn"
    port = free_port()
    env["GUNICORN_BIND"] = f"127.0.0.1:{port}"  # loopback here; the image listens on the pod's port
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen(
        [str(bin_dir / cmd[0]), *cmd[1:]],
        cwd=app_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=1
                ) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            assert response.status == 200
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/hooks/kafkatopic/sync",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=2)
        except urllib.error.HTTPError as error:
            assert error.code == 400, "the installed app parses requests"
    finally:
        server.terminate()
        server.wait(timeout=15)

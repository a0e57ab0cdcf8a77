"""Shared by the serving, capture and drift tests: sample bundles, and a `pipeline-designer serve` subprocess."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from designer.core.engine import Engine
from designer.core.model import TrainedModel
from designer.core.pipeline import load_pipeline
from designer.core.runner import write_bundles
from tests.conftest import ROOT, sample_paths


@dataclass
class SampleBundle:
    sample: str
    node: str
    bundle: Path
    model: TrainedModel
    raw: pd.DataFrame
    """The raw rows the run's Score node scored for this model (its test rows)."""
    scored: pd.DataFrame


def build_sample_bundles(folder: Path, only: tuple[str, ...] = ()) -> list[SampleBundle]:
    """Run every sample pipeline (or those named in `only`) once and write its bundles into `folder`."""
    out = []
    for path in sample_paths():
        name = path.name.removesuffix(".pipeline.json")
        if only and name not in only:
            continue
        pipeline = load_pipeline(path)
        result = Engine().run(pipeline, path.parent)
        assert result.ok, result.errors
        written = write_bundles(pipeline, result, folder / name)
        raw = next(v for o in result.outputs.values() for v in o.values()
                   if hasattr(v, "frame") and v.recipe == () and v.scored is None).frame
        for bundle in written:
            node = bundle.name.removesuffix(".bundle.zip")
            model = result.outputs[node]["model"]
            scored = next(v.frame for o in result.outputs.values() for v in o.values()
                          if getattr(v, "scored", None) and v.scored["model"] == node)
            out.append(SampleBundle(name, node, bundle, model, raw.loc[scored.index], scored))
    return out


def env_for(store: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_DESIGNER_DEBUG"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if store is not None:
        env["PIPELINE_DESIGNER_STORE"] = str(store)
    env.update(extra)
    return env


def cli(args: list[str], env: dict[str, str], cwd: Path | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "designer", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


@dataclass
class Served:
    """A running `pipeline-designer serve` subprocess (port 0), with a keep-alive client."""

    proc: subprocess.Popen
    url: str
    ready: dict[str, Any]
    stderr: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def connection(self, timeout: float = 20) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                conn: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, str], Any]:
        return http_call(self.port, method, path, body, headers, conn)

    def stop(self, timeout: float = 30) -> tuple[int, str]:
        """SIGTERM, wait; (exit status, the rest of stdout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return self.proc.returncode, out


def serve(target: str | Path, env: dict[str, str], *args: str, cwd: Path | None = None,
          timeout: float = 60) -> Served:
    """Start `serve TARGET --port 0 --json ARGS` and wait (bounded) for its ready line."""
    proc = subprocess.Popen([sys.executable, "-m", "designer", "serve", str(target), "--port", "0", "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    lines: list[str] = []
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not got or not got[0].strip():
        proc.kill()
        proc.communicate()
        raise AssertionError(f"serve did not become ready: {''.join(errors)}")
    lines.append(got[0])
    ready = json.loads(got[0])
    assert ready["event"] == "ready", ready
    return Served(proc, ready["url"], ready, errors)


def rows_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON records with null for missing values (as a client would send them)."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in rec.items()} for rec in records]


def wait_for(predicate: Any, timeout: float = 20, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def http_call(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
         conn: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, str], Any]:
    """One request to 127.0.0.1:port; (status, headers, parsed JSON or text)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    h = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        head = {k.lower(): v for k, v in r.getheaders()}
    finally:
        if own:
            conn.close()
    text = data.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = text
    return r.status, head, parsed


class InProcess:
    """An endpoint served from a thread of the test process (no interpreter start-up): for the request corpus."""

    def __init__(self, bundle: Path, name: str = "model", version: str = "1", redact: bool = False,
                 **options: Any) -> None:
        from designer.core.bundle import load_bundle
        from designer.core.serve.scorer import Scorer
        from designer.core.serve.server import Endpoint, Options, Server

        model, manifest, _ = load_bundle(bundle)
        self.scorer = Scorer.of(model, redact=redact)
        self.scorer.self_test(model.reference)
        self.endpoint = Endpoint(self.scorer, Options(name=name, version=version, **options), manifest)
        self.server = Server(("127.0.0.1", 0), self.endpoint)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], Any]:
        return http_call(self.port, method, path, body, headers)

    def close(self) -> None:
        self.server.stop(grace=2)
        self.thread.join(5)

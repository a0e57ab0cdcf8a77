"""The HTTP endpoint: MLflow's `/invocations`, a subset of the Open Inference Protocol V2, `/schema`, a try-it
page and `/stats`, on the standard library's ThreadingHTTPServer (keep-alive, Nagle off).

Every request is answered with JSON; a request the endpoint cannot take gets a 4xx naming what is wrong
(never a traceback). Security: a token (when set) is required on every route but the try-it page and compared
in constant time; bodies and rows per request are bounded; on a loopback address the Host header must name
the loopback (no DNS rebinding); the number of open connections is bounded; idle connections time out.
"""

from __future__ import annotations

import hmac
import json
import random
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from designer.core.errors import BadInput
from designer.core.serve.contract import MAX_LISTED, Problem
from designer.core.serve.page import try_it_page
from designer.core.serve.payload import PayloadError, Rows, parse_invocation, parse_v2_infer

if TYPE_CHECKING:
    from designer.core.serve.capture import CaptureWriter
    from designer.core.serve.scorer import Scorer

ERROR_CODES = {400: "MALFORMED_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "ENDPOINT_NOT_FOUND",
               405: "METHOD_NOT_ALLOWED", 408: "REQUEST_TIMEOUT", 411: "LENGTH_REQUIRED",
               413: "REQUEST_LIMIT_EXCEEDED", 415: "UNSUPPORTED_MEDIA_TYPE", 422: "INVALID_PARAMETER_VALUE",
               500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
RECENT = 20
LATENCIES = 2000


def host_name(header: str) -> str:
    """The host part of a Host header ('[::1]:5000' -> '[::1]', 'localhost:5000' -> 'localhost')."""
    if header.startswith("["):
        return header.split("]")[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Options:
    """How an endpoint answers; the CLI fills it from `serve`'s flags."""

    name: str
    version: str
    token: str | None = None
    max_body: int = 10 << 20
    max_rows: int = 10_000
    capture: "CaptureWriter | None" = None
    capture_sample: float = 1.0
    idle_timeout: float = 30.0
    max_connections: int = 64
    quiet: bool = True


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    rows: int = 0


def _json(obj: Any) -> bytes:
    return json.dumps(obj, default=_plain, allow_nan=False).encode()


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


class Stats:
    """Request counts, latencies (p50/p99 of the last 2,000) and the last requests, for `/stats` and the desktop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = time.time()
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.rows = 0
        self.latencies: deque[float] = deque(maxlen=LATENCIES)
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)

    def add(self, method: str, path: str, status: int, ms: float, rows: int, request_id: str | None) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.rows += rows
            if rows:
                self.latencies.append(ms)
            # the time the request arrived: recorded after the answer is sent, so requests sent one after
            # the other can be recorded out of order; `recent` is listed by arrival
            self.recent.append({"time": time.time() - ms / 1000.0, "method": method, "path": path, "status": status,
                                "ms": round(ms, 3), "rows": rows, "request_id": request_id})

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            lat = sorted(self.latencies)

            def pick(q: float) -> float | None:
                return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else None

            return {"started": self.started, "uptime_s": round(time.time() - self.started, 1),
                    "requests": self.requests, "rows": self.rows,
                    "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                    "p50_ms": pick(0.50), "p99_ms": pick(0.99),
                    "recent": sorted(self.recent, key=lambda r: r["time"])}


class Endpoint:
    """What the server answers, independent of sockets: `answer(method, path, headers, body)`."""

    def __init__(self, scorer: "Scorer", options: Options, manifest: dict[str, Any] | None = None) -> None:
        self.scorer = scorer
        self.options = options
        self.manifest = manifest or {}
        self.stats = Stats()
        self.ready = True
        self.schema = scorer.contract.json_schema(f"One raw input row of {options.name}:{options.version}")
        self._schema_body = _json(self.schema)
        self._page = try_it_page(f"{options.name}:{options.version}").encode()

    # ------------------------------------------------------------------------------------------ routing
    def route(self, method: str, path: str) -> tuple[Callable[..., Answer] | None, tuple[str, ...]]:
        """The handler of a path and the methods it takes ((None, ()) for an unknown path)."""
        o = self.options
        if path in ("/", "/index.html"):
            return self._page_answer, ("GET",)
        if path == "/schema":
            return lambda *_: Answer(200, self._schema_body, "application/schema+json"), ("GET",)
        if path in ("/ping", "/health"):
            return lambda *_: Answer(200, b"{}"), ("GET",)
        if path == "/version":
            return lambda *_: Answer(200, _json({"pipeline-designer": self._version()})), ("GET",)
        if path == "/stats":
            return lambda *_: Answer(200, _json({**self.stats.to_json(), "path": self.scorer.path,
                                                 "compiled_calls": self.scorer.counts})), ("GET",)
        if path == "/invocations":
            return self._invocations, ("POST",)
        if path == "/v2":
            return lambda *_: Answer(200, _json({"name": "pipeline-designer", "version": self._version(),
                                                 "extensions": []})), ("GET",)
        if path == "/v2/health/live":
            return lambda *_: Answer(200, _json({"live": True})), ("GET",)
        if path == "/v2/health/ready":
            return lambda *_: Answer(200 if self.ready else 503, _json({"ready": self.ready})), ("GET",)
        m = re.fullmatch(r"/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/infer)?", path)
        if m and m.group(1) == o.name and m.group(2) in (None, o.version):
            if m.group(3) == "/infer":
                return self._infer, ("POST",)
            if m.group(3) == "/ready":
                return lambda *_: Answer(200 if self.ready else 503, _json({"ready": self.ready})), ("GET",)
            return lambda *_: Answer(200, _json(self.v2_metadata())), ("GET",)
        return None, ()

    @staticmethod
    def _version() -> str:
        from designer import __version__

        return __version__

    def _page_answer(self, *_: Any) -> Answer:
        csp = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
               "form-action 'none'; frame-ancestors 'none'")
        return Answer(200, self._page, "text/html; charset=utf-8", {"Content-Security-Policy": csp})

    def v2_metadata(self) -> dict[str, Any]:
        dtype = {"numeric": "FP64", "boolean": "BOOL"}
        task = self.scorer.model.task
        outputs = ([{"name": "cluster", "datatype": "INT32", "shape": [-1]},
                    {"name": "distance", "datatype": "FP64", "shape": [-1]}] if task == "clustering" else
                   [{"name": "prediction", "datatype": "FP64" if task == "regression" else "BYTES", "shape": [-1]}])
        if task == "classification":
            outputs += [{"name": f"probability_{c}", "datatype": "FP64", "shape": [-1]}
                        for c in getattr(self.scorer.model.estimator, "classes_", [])]
        return {"name": self.options.name, "versions": [self.options.version],
                "platform": "pipeline-designer/scikit-learn",
                "inputs": [{"name": r.name, "datatype": dtype.get(r.kind, "BYTES"), "shape": [-1]}
                           for r in self.scorer.contract.rules],
                "outputs": outputs}

    # ------------------------------------------------------------------------------------------ scoring
    def _invocations(self, body: bytes, content_type: str | None, request_id: str, received: float) -> Answer:
        return self._score(body, content_type, request_id, received, v2=False)

    def _infer(self, body: bytes, content_type: str | None, request_id: str, received: float) -> Answer:
        return self._score(body, content_type, request_id, received, v2=True)

    def _score(self, body: bytes, content_type: str | None, request_id: str, received: float, v2: bool) -> Answer:
        o = self.options
        rows: Rows | None = None
        try:
            rows = (parse_v2_infer if v2 else parse_invocation)(body, content_type, o.max_rows)
            if v2 and rows.request_id:
                request_id = rows.request_id
            checked = self.scorer.contract.check(rows.columns, rows.count, rows.text_cells)
            if checked.problems:
                self.capture(request_id, received, 422, rows, None, checked.problems, body)
                return self.problems(422, checked.problems, v2, request_id)
            outputs = self.scorer.score(checked.columns, rows.count)
        except PayloadError as e:
            self.capture(request_id, received, e.status, rows, None, [Problem(e.message)], body)
            return self.error(e.status, e.message, v2)
        except BadInput as e:  # found only by the recipe (a step of a kind the contract does not know)
            problem = Problem(e.message if not self.scorer.contract.redact else "the model cannot take these rows",
                              e.location.column)
            self.capture(request_id, received, 422, rows, None, [problem], body)
            return self.problems(422, [problem], v2, request_id)
        answer = self._outputs(outputs, rows.count, v2, request_id)
        self.capture(request_id, received, 200, rows, outputs, [], body, checked.columns)
        return answer

    def _outputs(self, outputs: dict[str, Any], count: int, v2: bool, request_id: str) -> Answer:
        if not v2:
            main = outputs["prediction"] if "prediction" in outputs else outputs["cluster"]
            return Answer(200, _json({"predictions": main.tolist()}), rows=count)
        tensors = []
        for name, values in outputs.items():
            kind = getattr(values, "dtype", None)
            dtype = ("FP64" if kind is not None and kind.kind == "f" else
                     "INT64" if kind is not None and kind.kind in "iu" else
                     "BOOL" if kind is not None and kind.kind == "b" else "BYTES")
            data = values.tolist() if dtype != "BYTES" else [str(v) for v in values.tolist()]
            tensors.append({"name": name, "shape": [count], "datatype": dtype, "data": data})
        return Answer(200, _json({"model_name": self.options.name, "model_version": self.options.version,
                                  "id": request_id, "outputs": tensors}), rows=count)

    def problems(self, status: int, problems: list[Problem], v2: bool, request_id: str | None = None) -> Answer:
        shown = problems[:MAX_LISTED]
        head = f"{len(problems)} problem{'s' * (len(problems) != 1)} with the input rows"
        lines = "; ".join(str(p) for p in shown[:5]) + (" …" if len(problems) > 5 else "")
        message = f"{head}: {lines}"
        body: dict[str, Any] = {"error": message} if v2 else {"error_code": ERROR_CODES[status], "message": message}
        body.update({"problems": [p.to_json() for p in shown], "problem_count": len(problems)})
        return Answer(status, _json(body))

    def error(self, status: int, message: str, v2: bool = False, headers: dict[str, str] | None = None) -> Answer:
        body = {"error": message} if v2 else {"error_code": ERROR_CODES.get(status, "BAD_REQUEST"), "message": message}
        return Answer(status, _json(body), headers=headers or {})

    # ------------------------------------------------------------------------------------------ capture
    def capture(self, request_id: str, received: float, status: int, rows: Rows | None,
                 outputs: dict[str, Any] | None, problems: list[Problem], body: bytes,
                 typed: dict[str, list[Any]] | None = None) -> None:
        capture = self.options.capture
        if capture is None or (self.options.capture_sample < 1.0 and random.random() >= self.options.capture_sample):
            return
        latency = (time.perf_counter() - received) * 1000.0
        capture.put_request(request_id=request_id, received=time.time(), latency_ms=latency, status=status,
                            rows=rows, typed=typed, outputs=outputs, problems=problems, body=body)


# ---------------------------------------------------------------------------------------------- HTTP plumbing


class Handler(BaseHTTPRequestHandler):
    """One connection: keep-alive HTTP/1.1 with Nagle off; every answer is JSON (or the try-it page)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "pipeline-designer"
    sys_version = ""
    server: "Server"

    @property
    def endpoint(self) -> "Endpoint":
        endpoint = self.server.endpoint
        assert endpoint is not None, "connections are accepted only once the model is loaded"
        return endpoint

    def setup(self) -> None:
        # socketserver reads the timeout per instance
        self.timeout = self.endpoint.options.idle_timeout  # type: ignore[misc]
        super().setup()
        self.server.track(self.connection, busy=False)
        _one_thread_here()

    def finish(self) -> None:
        self.server.untrack(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        if not self.endpoint.options.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._dispatch("OPTIONS")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed request lines and headers (found by the base class) get a JSON answer too."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unreadable request line: still answer with a status line
            self.request_version = "HTTP/1.0"
        status = 405 if code == 501 else code if 400 <= code < 500 else 400  # 501: a method no route takes
        self._send(Answer(status, _json({"error_code": ERROR_CODES.get(status, "BAD_REQUEST"),
                                         "message": message or "malformed request"})))

    def _dispatch(self, method: str) -> None:
        endpoint, server = self.endpoint, self.server
        received = time.perf_counter()
        server.track(self.connection, busy=True)
        path = urlsplit(self.path).path
        request_id = self.headers.get("X-Request-ID", "")
        if not REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        answer = None
        rows = 0
        try:
            answer = self._guard(path)
            handler, methods = endpoint.route(method, path) if answer is None else (None, ())
            if answer is None and handler is None:
                answer = endpoint.error(404, f"no route {path}; try POST /invocations, GET /schema or GET /")
            elif answer is None and method not in methods:
                answer = endpoint.error(405, f"{path} takes {', '.join(methods)}, not {method}",
                                        headers={"Allow": ", ".join(methods)})
            if answer is None:
                body = self._body()
                if isinstance(body, Answer):
                    answer = body
                else:
                    assert handler is not None
                    answer = handler(body, self.headers.get("Content-Type"), request_id, received)
                    rows = answer.rows
        except Exception:  # a bug, never the user's input: a short answer here, the traceback on stderr
            traceback.print_exc(file=sys.stderr)
            answer = endpoint.error(500, "internal error; the server log has the details")
        answer.headers.setdefault("X-Request-ID", request_id)
        if server.stopping:
            self.close_connection = True
        self._send(answer, head=method == "HEAD")
        if path != "/stats":  # the desktop polls it every second: not traffic
            endpoint.stats.add(method, path, answer.status, (time.perf_counter() - received) * 1000.0, rows,
                               request_id)
        server.track(self.connection, busy=False)

    def _guard(self, path: str) -> Answer | None:
        """Host (on loopback) and token checks, before anything else is looked at."""
        endpoint, o = self.endpoint, self.endpoint.options
        if self.server.loopback:
            host = host_name(self.headers.get("Host") or "")
            if host and host not in LOOPBACK_HOSTS:
                self.close_connection = True
                return endpoint.error(403, f"this endpoint answers only requests to the loopback address, not to "
                                           f"host '{host[:60]}'")
        if o.token and path not in ("/", "/index.html"):
            given = self.headers.get("Authorization") or ""
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), o.token.encode()):
                return endpoint.error(401, "a bearer token is required: send 'Authorization: Bearer <token>'",
                                      headers={"WWW-Authenticate": 'Bearer realm="pipeline-designer"'})
        return None

    def _body(self) -> bytes | Answer:
        endpoint, o = self.endpoint, self.endpoint.options
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            return endpoint.error(411, "chunked bodies are not taken; send a Content-Length")
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            if self.command in ("POST", "PUT", "PATCH"):
                return endpoint.error(411, "a Content-Length header is required")
            return b""
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            return endpoint.error(400, "Content-Length is not a number")
        if length > o.max_body:
            self.close_connection = True  # the body stays unread: this connection cannot go on
            answer = endpoint.error(413, f"the body is {length:,} bytes; this endpoint takes at most "
                                         f"{o.max_body:,} (see --max-body-mb)")
            if urlsplit(self.path).path in ("/invocations",) or urlsplit(self.path).path.endswith("/infer"):
                endpoint.capture(uuid.uuid4().hex, time.perf_counter(), 413, None, None,
                                 [Problem(f"a body of {length:,} bytes was refused unread")], b"")
            return answer
        try:
            body = self.rfile.read(length)
        except (TimeoutError, socket.timeout):
            self.close_connection = True
            return endpoint.error(408, "the body did not arrive in time")
        if len(body) != length:
            self.close_connection = True
            return endpoint.error(400, f"the body ended after {len(body)} of {length} bytes")
        return body

    def _send(self, answer: Answer, head: bool = False) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            for k, v in answer.headers.items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError, TimeoutError, socket.timeout):
            self.close_connection = True


_local = threading.local()


def _one_thread_here() -> None:
    """Keep OpenMP (boosted trees) and BLAS to one thread in this worker thread: with two, one-row latency
    has a tail of seconds on a small machine. OMP_NUM_THREADS=1 set before numpy loads covers new threads;
    this covers a process that imported numpy before (the desktop app, tests)."""
    if getattr(_local, "limited", False):
        return
    _local.limited = True
    try:
        _controller().limit(limits=1)
    except Exception:  # noqa: BLE001  (threadpoolctl missing or a library it cannot drive: keep going)
        pass


_ctl: Any = None


def _controller() -> Any:
    global _ctl
    if _ctl is None:
        from threadpoolctl import ThreadpoolController

        _ctl = ThreadpoolController()
    return _ctl


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with bounded connections, tracking of open connections and a graceful stop."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], endpoint: Endpoint | None, max_connections: int = 64) -> None:
        """Binds at once; `endpoint` may be set later (before `serve_forever`), so a busy port is found before
        the model is loaded."""
        self.endpoint = endpoint  # type: ignore[assignment]
        self.loopback = is_loopback(address[0])
        self.stopping = False
        self._connections: dict[socket.socket, bool] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(endpoint.options.max_connections if endpoint else max_connections)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        address: Any = self.server_address
        host, port = str(address[0]), int(address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def track(self, conn: socket.socket, busy: bool) -> None:
        with self._lock:
            self._connections[conn] = busy

    def untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.pop(conn, None)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                body = _json({"error_code": ERROR_CODES[503], "message": "too many open connections; try again"})
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def busy(self) -> int:
        with self._lock:
            return sum(self._connections.values())

    def stop(self, grace: float = 10.0) -> None:
        """Stop accepting; let every open connection finish the request it is answering (up to `grace`
        seconds); idle keep-alive connections are closed (their read side is shut until none is left, so a
        request that arrives meanwhile is still answered, with `Connection: close`)."""
        self.stopping = True
        if self.endpoint is not None:
            self.endpoint.ready = False
        self.shutdown()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with self._lock:
                idle = [c for c, busy in self._connections.items() if not busy]
                left = len(self._connections)
            if not left:
                break
            for conn in idle:
                try:
                    conn.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
            time.sleep(0.02)
        self.server_close()

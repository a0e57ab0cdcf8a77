"""`pipeline-designer serve`: answers equal `score` bit for bit; every bad request gets a located 4xx and never
reaches scikit-learn; loopback by default and a token elsewhere; captured rows survive a graceful stop;
`endpoints list|stop`. The request corpus runs against endpoints in this process (no start-up per server);
the command itself runs in subprocesses (port 0, bounded waits)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.serve_helpers import InProcess, build_sample_bundles, cli, env_for, http_call, rows_json, serve, wait_for

CORPUS = Path(__file__).resolve().parents[1] / "bad_input" / "requests" / "corpus.json"
TOKEN = "a-test-token-of-enough-length"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundles")
    return {(b.sample, b.node): b for b in build_sample_bundles(
        folder, only=("messy_housing_boosted_trees", "diabetes_linear_regression", "breast_cancer_classification"))}


@pytest.fixture(scope="module")
def messy(bundles):
    return bundles[("messy_housing_boosted_trees", "train")]


@pytest.fixture(scope="module")
def diabetes(bundles):
    return bundles[("diabetes_linear_regression", "train")]


# ------------------------------------------------------------------------------ bit for bit with `score`


def _score_cli(bundle: Path, rows: pd.DataFrame, tmp: Path, env: dict[str, str], task: str) -> pd.DataFrame:
    data, out = tmp / f"{bundle.stem}.rows.csv", tmp / f"{bundle.stem}.scored.csv"
    rows.to_csv(data, index=False)
    r = cli(["score", str(bundle), str(data), "-o", str(out)], env)
    assert r.returncode == 0, r.stderr
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)  # numbers parsed below with float(): exact
    for c in scored.columns:
        if c == "prediction" and task == "classification":
            continue
        if c == "prediction" or c.startswith("probability_"):
            scored[c] = [float(v) for v in scored[c]]
    return scored


@pytest.mark.parametrize("key", [("messy_housing_boosted_trees", "train"), ("diabetes_linear_regression", "train"),
                                 ("breast_cancer_classification", "train_logistic")])
def test_http_answers_equal_score_cli_bit_for_bit(bundles, key, tmp_path):
    b = bundles[key]
    env = env_for(tmp_path / "store")
    rows = b.raw.drop(columns=[b.model.label])
    expected = _score_cli(b.bundle, rows, tmp_path, env, b.model.task)
    served = serve(b.bundle, env)
    try:
        conn = served.connection()
        names = list(rows.columns)
        records = rows_json(rows)
        one_by_one = []
        for rec in records:  # one row per request, keep-alive, the label sent too (it is ignored)
            status, _, answer = served.request("POST", "/invocations", {"dataframe_split": {
                "columns": names + [b.model.label], "data": [[rec[n] for n in names] + [1.0]]}}, conn=conn)
            assert status == 200, answer
            one_by_one += answer["predictions"]
        status, _, batch = served.request("POST", "/invocations", {"dataframe_records": records}, conn=conn)
        assert status == 200, batch
        csv_body = (tmp_path / f"{b.bundle.stem}.rows.csv").read_bytes()
        status, _, from_csv = served.request("POST", "/invocations", csv_body, {"Content-Type": "text/csv"}, conn=conn)
        assert status == 200, from_csv
        inputs = [{"name": n, "shape": [len(records)], "datatype": "FP64" if rows[n].dtype.kind == "f" else "BYTES",
                   "data": [rec[n] for rec in records]} for n in names]
        status, _, v2 = served.request("POST", f"/v2/models/{b.node}/infer", {"inputs": inputs}, conn=conn)
        assert status == 200, v2
    finally:
        served.stop()
    want = expected["prediction"].tolist()
    assert one_by_one == want
    assert batch["predictions"] == want
    assert from_csv["predictions"] == want
    tensors = {t["name"]: t["data"] for t in v2["outputs"]}
    assert tensors["prediction"] == [str(v) for v in want] if b.model.task == "classification" else want
    for name in tensors:  # probabilities too, bit for bit
        if name.startswith("probability_"):
            assert tensors[name] == expected[name].tolist()


def test_ints_are_taken_for_float_columns(messy):
    server = InProcess(messy.bundle)
    try:
        row = {"area_m2": 80, "rooms": 3, "age_years": 10, "distance_km": 2, "city": "Porto", "condition": "good",
               "garden": "no"}
        as_floats = {k: float(v) if isinstance(v, int) else v for k, v in row.items()}
        s1, _, a = server.request("POST", "/invocations", {"dataframe_records": [row]})
        s2, _, b = server.request("POST", "/invocations", {"dataframe_records": [as_floats]})
        assert s1 == s2 == 200 and a == b
    finally:
        server.close()


# ------------------------------------------------------------------------------ the bad-request corpus

CASES = json.loads(CORPUS.read_text())["cases"]


@pytest.fixture(scope="module")
def servers(bundles, messy, diabetes):
    made = {"messy": InProcess(messy.bundle, "messy", "3"),
            "diabetes": InProcess(diabetes.bundle, "diabetes", "1"),
            "small": InProcess(messy.bundle, "messy", "3", max_body=512, max_rows=5),
            "token": InProcess(messy.bundle, "messy", "3", token=TOKEN)}
    yield made
    for s in made.values():
        s.close()


def _send(server: InProcess, case: dict) -> tuple[int, dict, object]:
    path = case.get("path", "/invocations").format(name=server.endpoint.options.name,
                                                    version=server.endpoint.options.version)
    method = case.get("method", "POST")
    headers = dict(case.get("headers", {}))
    if "body_json" in case:
        body: object = json.dumps(case["body_json"]).encode()
    elif "body_hex" in case:
        body = bytes.fromhex(case["body_hex"])
    elif "body" in case:
        body = case["body"].encode()
    else:
        body = None
    if body is not None:
        headers.setdefault("Content-Type", case.get("content_type", "application/json"))
    return server.request(method, path, body, headers)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_request_gets_a_located_4xx(servers, case):
    server = servers[case.get("server", "messy")]
    before = dict(server.scorer.counts)
    status, headers, answer = _send(server, case)
    assert status == case["status"], answer
    assert headers["content-type"].startswith("application/json")
    assert isinstance(answer, dict), answer  # JSON, never a traceback
    text = json.dumps(answer)
    assert "Traceback" not in text and "File \"" not in text
    message = answer.get("message") or answer.get("error")
    assert message
    for fragment in case.get("message", []):
        assert fragment in message, message
    got = [{k: p[k] for k in ("row", "column") if k in p} for p in answer.get("problems", [])]
    for want in case.get("problems", []):
        assert want in got, (want, got)
    assert server.scorer.counts == before  # nothing reached scikit-learn
    assert headers.get("x-request-id")


def test_the_corpus_leaves_the_endpoint_healthy(servers, messy):
    status, _, answer = servers["messy"].request("POST", "/invocations", {"dataframe_records": rows_json(
        messy.raw.drop(columns=["price_k"]).head(3))})
    assert status == 200 and len(answer["predictions"]) == 3
    status, _, stats = servers["messy"].request("GET", "/stats")
    assert status == 200 and "500" not in stats["by_status"]


def test_redacted_errors_leave_values_and_categories_out(messy):
    server = InProcess(messy.bundle, redact=True)
    try:
        case = next(c for c in CASES if c["name"] == "every problem at once")
        status, _, answer = _send(server, case)
        assert status == 422
        text = json.dumps(answer)
        for secret in ("Coimbra", "Porto", "awful", "big", "excellent"):
            assert secret not in text
        _, _, schema = server.request("GET", "/schema")
        assert "enum" not in json.dumps(schema) and "Porto" not in json.dumps(schema)
    finally:
        server.close()


def test_schema_page_and_metadata(servers):
    messy, diabetes = servers["messy"], servers["diabetes"]
    status, headers, schema = messy.request("GET", "/schema")
    assert status == 200 and headers["content-type"] == "application/schema+json"
    city = schema["properties"]["city"]
    assert city["enum"] == ["Braga", "Faro", "Lisbon", "Porto", None]  # categories of the fitted encoder; filled
    assert schema["properties"]["rooms"]["type"] == ["number", "null"]  # imputed: null allowed
    assert set(schema["required"]) == {"area_m2", "rooms", "age_years", "distance_km", "city", "condition", "garden"}
    _, _, dschema = diabetes.request("GET", "/schema")
    assert dschema["properties"]["bmi"]["type"] == ["number"]  # linear model, nothing fills it: never null
    status, headers, page = messy.request("GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html") and "/invocations" not in headers
    assert "invocations" in page and "default-src 'none'" in headers["content-security-policy"]
    status, _, meta = messy.request("GET", "/v2/models/messy/versions/3")
    assert status == 200 and meta["name"] == "messy" and meta["versions"] == ["3"]
    assert {i["name"]: i["datatype"] for i in meta["inputs"]}["city"] == "BYTES"
    for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/messy/ready", "/ping"):
        assert messy.request("GET", path)[0] == 200, path


def test_token_in_constant_time_and_the_page_without_token(servers):
    token = servers["token"]
    assert token.request("GET", "/schema", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert token.request("GET", "/schema", headers={"Authorization": f"Bearer {TOKEN}x"})[0] == 401
    assert token.request("GET", "/")[0] == 200  # the page holds nothing; its script sends the token typed in
    import inspect

    from designer.core.serve import server as module

    assert "hmac.compare_digest" in inspect.getsource(module.Handler._guard)


# ------------------------------------------------------------------------------ the command


def test_other_address_needs_a_token(messy, tmp_path):
    env = env_for(tmp_path / "store")
    env.pop("PIPELINE_DESIGNER_TOKEN", None)
    r = cli(["serve", str(messy.bundle), "--host", "0.0.0.0", "--port", "0"], env)
    assert r.returncode == 2 and "token" in r.stderr and "Traceback" not in r.stderr
    r = cli(["serve", str(messy.bundle), "--host", "0.0.0.0", "--port", "0", "--token", "short"], env)
    assert r.returncode == 2 and "16 characters" in r.stderr
    served = serve(messy.bundle, {**env, "PIPELINE_DESIGNER_TOKEN": TOKEN}, "--host", "0.0.0.0")
    try:
        assert served.url.startswith("http://0.0.0.0:")
        assert served.request("GET", "/schema")[0] == 401
        assert served.request("GET", "/schema", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    finally:
        served.stop()


def test_busy_port_is_bad_input(messy, tmp_path):
    env = env_for(tmp_path / "store")
    server = InProcess(messy.bundle)
    try:
        r = cli(["serve", str(messy.bundle), "--port", str(server.port)], env)
        assert r.returncode == 2 and "cannot listen" in r.stderr and "Traceback" not in r.stderr
    finally:
        server.close()


def test_load_then_graceful_stop_loses_no_captured_row(messy, tmp_path):
    """Four keep-alive clients send for a bounded time; SIGTERM arrives while they still send. Every request
    that got an answer is in the captures (scored rows and rejected ones); no answer is a 500."""
    env = env_for(tmp_path / "store")
    served = serve(messy.bundle, env, "--capture", "--store", str(tmp_path / "store"), cwd=tmp_path)
    good = rows_json(messy.raw.drop(columns=["price_k"]).head(8))
    answered: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + 20

    def client(k: int) -> None:
        conn = served.connection(timeout=10)
        i = 0
        while time.monotonic() < stop_at and i < 400:
            rid = f"c{k}-{i}-{uuid.uuid4().hex[:6]}"
            row = good[i % len(good)] if i % 5 else {"city": "Nowhere"}
            body = {"dataframe_records": [row]}
            try:
                status, _, _ = http_call(served.port, "POST", "/invocations", body, {"X-Request-ID": rid}, conn)
            except OSError:
                return  # the server stopped: this request got no answer
            except Exception:  # noqa: BLE001  (http.client's errors of a closed connection)
                return
            with lock:
                answered[rid] = status
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    assert wait_for(lambda: len(answered) >= 200, timeout=60)
    code, out = served.stop()
    for t in threads:
        t.join(20)
    assert code == 0, out
    assert 500 not in answered.values()
    assert set(answered.values()) <= {200, 422}
    stopped = json.loads(out.strip().splitlines()[-1])
    assert stopped["event"] == "stopped" and stopped["capture"]["dropped"] == 0 and stopped["capture"]["failed"] == 0
    from designer.core.serve.capture import read_captures

    folder = Path(served.ready["capture"])
    table = read_captures(folder, ["request_id", "status", "error", "input:city", "prediction"]).to_pandas()
    captured = dict(zip(table["request_id"], table["status"]))
    missing = [rid for rid in answered if rid not in captured]
    assert not missing, f"{len(missing)} answered requests not captured, e.g. {missing[:3]}"
    assert all(captured[rid] == status for rid, status in answered.items())
    rejected = table[table["status"] == 422]
    assert len(rejected) and rejected["error"].str.contains("city").all()
    assert rejected["prediction"].isna().all() and table.loc[table["status"] == 200, "prediction"].notna().all()


def test_endpoints_list_and_stop(messy, tmp_path):
    env = env_for(tmp_path / "store")
    from designer.core.serve.endpoints import endpoints_folder

    folder = endpoints_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "999999.json").write_text(json.dumps({"pid": 999999, "url": "http://127.0.0.1:1", "model": "gone:1",
                                                    "started": 0}))
    served = serve(messy.bundle, env)
    try:
        r = cli(["endpoints", "list", "--json"], env)
        assert r.returncode == 0, r.stderr
        listed = json.loads(r.stdout)
        assert [e["url"] for e in listed] == [served.url]  # the dead one was cleaned away
        assert listed[0]["pid"] == served.proc.pid and listed[0]["model"].startswith("train:bundle-")
        assert not (folder / "999999.json").exists()
        r = cli(["endpoints", "list"], env)
        assert served.url in r.stdout
        r = cli(["endpoints", "stop", str(served.proc.pid)], env)
        assert r.returncode == 0, r.stderr
        assert served.proc.wait(20) == 0
        assert json.loads(cli(["endpoints", "list", "--json"], env).stdout) == []
        r = cli(["endpoints", "stop", "12345"], env)
        assert r.returncode == 2 and "no running endpoint" in r.stderr
    finally:
        served.stop()


def test_malformed_http_gets_json_4xx_too(servers):
    import socket

    port = servers["messy"].port
    for raw, status in ((b"FOO /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405),
                        (b"GET /schema HTTP/1.1 extra words\r\n\r\n", 400),
                        (b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\n\r\n", 411),
                        (b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: x\r\n\r\n", 400)):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(raw)
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.split()[1] == str(status).encode(), (raw, head)
        assert json.loads(body)["message"]

"""The ETSI GS QKD 014 API of two KMEs, over real mutual TLS on loopback."""

from __future__ import annotations

import base64
import logging
import sqlite3
import ssl
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from qkdstack.kms.certs import write_certificates
from qkdstack.kms.pool import owner_of

from kme_harness import Pair, running_pair

STATUS_FIELDS = {
    "source_KME_ID": str,
    "target_KME_ID": str,
    "master_SAE_ID": str,
    "slave_SAE_ID": str,
    "key_size": int,
    "stored_key_count": int,
    "max_key_count": int,
    "max_key_per_request": int,
    "max_key_size": int,
    "min_key_size": int,
    "max_SAE_ID_count": int,
}
NOT_FOUND = "one or more keys specified are not found on KME"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with running_pair(tmp_path_factory.mktemp("kms"), key_bits=256 * 600) as p:
        yield p


@pytest.fixture(scope="module")
def sae_a(pair: Pair) -> Iterator[httpx.Client]:
    with pair.client("SAE_A") as c:
        yield c


@pytest.fixture(scope="module")
def sae_b(pair: Pair) -> Iterator[httpx.Client]:
    with pair.client("SAE_B") as c:
        yield c


def _keys(response: httpx.Response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"keys"}
    out = {}
    for item in body["keys"]:
        assert set(item) == {"key_ID", "key"}
        assert str(uuid.UUID(item["key_ID"])) == item["key_ID"]
        out[item["key_ID"]] = base64.b64decode(item["key"], validate=True)
    return out


def _error(response: httpx.Response, status: int, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    if message is not None:
        assert body["message"] == message
    return body


def test_status_fields_and_targets(pair: Pair, sae_a: httpx.Client) -> None:
    body = sae_a.get("/api/v1/keys/SAE_B/status").json()
    assert set(body) == set(STATUS_FIELDS)
    for name, kind in STATUS_FIELDS.items():
        assert type(body[name]) is kind, name
    assert body["source_KME_ID"] == "KME_A" and body["target_KME_ID"] == "KME_B"
    assert body["master_SAE_ID"] == "SAE_A" and body["slave_SAE_ID"] == "SAE_B"
    assert body["key_size"] == 256 and body["max_key_per_request"] == 128
    assert 0 < body["stored_key_count"] <= 600  # this KME allocates about half of the store
    local = sae_a.get("/api/v1/keys/SAE_A2/status").json()
    assert local["target_KME_ID"] == "KME_A"


def test_enc_then_dec_across_kmes_once(sae_a: httpx.Client, sae_b: httpx.Client) -> None:
    before = sae_a.get("/api/v1/keys/SAE_B/status").json()["stored_key_count"]
    got = _keys(sae_a.post("/api/v1/keys/SAE_B/enc_keys", json={"number": 3, "size": 512}))
    assert len(got) == 3 and all(len(k) == 64 for k in got.values())
    assert len(set(got.values())) == 3
    after = sae_a.get("/api/v1/keys/SAE_B/status").json()["stored_key_count"]
    assert before - after == 6  # 3 keys of 512 bits = 6 keys of 256 bits, nothing more
    ids = list(got)
    fetched = _keys(
        sae_b.post("/api/v1/keys/SAE_A/dec_keys", json={"key_IDs": [{"key_ID": i} for i in ids]})
    )
    assert fetched == got
    again = sae_b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": ids[0]})
    _error(again, 400, NOT_FOUND)


def test_get_forms_and_defaults(sae_a: httpx.Client, sae_b: httpx.Client) -> None:
    one = _keys(sae_a.get("/api/v1/keys/SAE_B/enc_keys"))
    assert len(one) == 1 and len(next(iter(one.values()))) == 32  # default: 1 key of key_size
    two = _keys(sae_a.get("/api/v1/keys/SAE_B/enc_keys", params={"number": 2, "size": 24}))
    assert [len(k) for k in two.values()] == [3, 3]
    for key_id, key in {**one, **two}.items():
        assert _keys(sae_b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id})) == {
            key_id: key
        }


def test_the_other_direction_and_local_slaves(pair: Pair, sae_a: httpx.Client) -> None:
    with pair.client("SAE_B") as b, pair.client("SAE_A2") as a2:
        got = _keys(b.post("/api/v1/keys/SAE_A/enc_keys", json={"number": 2}))
        assert (
            _keys(
                sae_a.post(
                    "/api/v1/keys/SAE_B/dec_keys", json={"key_IDs": [{"key_ID": k} for k in got]}
                )
            )
            == got
        )
        local = _keys(sae_a.post("/api/v1/keys/SAE_A2/enc_keys", json={}))
        (key_id,) = local
        assert _keys(a2.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id})) == local
        _error(a2.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id}), 400, NOT_FOUND)


def test_multicast_each_slave_once(pair: Pair, sae_a: httpx.Client, sae_b: httpx.Client) -> None:
    body = {"number": 1, "additional_slave_SAE_IDs": ["SAE_B2", "SAE_A2"]}
    got = _keys(sae_a.post("/api/v1/keys/SAE_B/enc_keys", json=body))
    (key_id,) = got
    with pair.client("SAE_B2") as b2, pair.client("SAE_A2") as a2:
        for client in (sae_b, b2, a2):
            r = client.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id})
            assert _keys(r) == got
            _error(client.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id}), 400)


def test_extensions(sae_a: httpx.Client) -> None:
    mandatory = [{"abc_route_type": "direct"}]
    r = sae_a.post("/api/v1/keys/SAE_B/enc_keys", json={"extension_mandatory": mandatory})
    body = _error(r, 400, "not all extension_mandatory parameters are supported")
    assert body["details"] == [{"extension_mandatory_unsupported": mandatory}]
    ok = sae_a.post("/api/v1/keys/SAE_B/enc_keys", json={"extension_optional": [{"x": 1}]})
    assert len(_keys(ok)) == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"size": 0}, None),
        ({"size": -8}, None),
        ({"size": "abc"}, None),
        ({"size": 12}, "size shall be a multiple of 8"),
        ({"size": 2**20}, None),
        ({"number": 0}, None),
        ({"number": 129}, None),
        ({"number": "x"}, None),
        ({"number": ""}, None),
        ({"colour": "blue"}, None),
    ],
)
def test_enc_keys_get_400(sae_a: httpx.Client, params: dict, message: str | None) -> None:
    _error(sae_a.get("/api/v1/keys/SAE_B/enc_keys", params=params), 400, message)


@pytest.mark.parametrize(
    "body",
    [
        {"size": 0},
        {"size": -256},
        {"size": "256"},
        {"size": 256.0},
        {"size": True},
        {"size": 100},
        {"number": 129},
        {"number": -1},
        {"additional_slave_SAE_IDs": ["SAE_B2", "SAE_B2"]},  # duplicate
        {"additional_slave_SAE_IDs": [""]},  # blank
        {"additional_slave_SAE_IDs": ["  "]},
        {"additional_slave_SAE_IDs": ["SAE_A"]},  # names the master itself
        {"additional_slave_SAE_IDs": ["SAE_B"]},  # repeats the slave
        {"additional_slave_SAE_IDs": ["SAE_NOBODY"]},
        {"additional_slave_SAE_IDs": "SAE_B2"},
        {"additional_slave_SAE_IDs": ["SAE_B2", "SAE_A2", "SAE_B2x", "a", "b"]},  # > max 4
        {"extension_mandatory": "x"},
        [1, 2],
    ],
)
def test_enc_keys_post_400(sae_a: httpx.Client, body: object) -> None:
    _error(sae_a.post("/api/v1/keys/SAE_B/enc_keys", json=body), 400)


def test_more_400_cases(sae_a: httpx.Client, sae_b: httpx.Client) -> None:
    _error(sae_a.get("/api/v1/keys/SAE_A/enc_keys"), 400)  # master equal to slave
    _error(sae_a.get("/api/v1/keys/SAE_A/status"), 400)
    _error(sae_a.get("/api/v1/keys/SAE_NOBODY/status"), 400)
    _error(sae_a.get("/api/v1/keys//status"), 400)  # empty SAE ID in the path
    _error(sae_a.get("/api/v1/keys//enc_keys"), 400)
    _error(sae_b.get("/api/v1/keys//dec_keys", params={"key_ID": str(uuid.uuid4())}), 400)
    r = sae_a.post(
        "/api/v1/keys/SAE_B/enc_keys",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    _error(r, 400)
    unknown = str(uuid.uuid4())
    _error(sae_b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": unknown}), 400, NOT_FOUND)
    _error(sae_b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": "not-a-uuid"}), 400)
    _error(sae_b.get("/api/v1/keys/SAE_A/dec_keys"), 400)
    _error(sae_b.get("/api/v1/keys/SAE_B/dec_keys", params={"key_ID": unknown}), 400)
    dup = {"key_IDs": [{"key_ID": unknown}, {"key_ID": unknown}]}
    _error(sae_b.post("/api/v1/keys/SAE_A/dec_keys", json=dup), 400)
    _error(sae_b.post("/api/v1/keys/SAE_A/dec_keys", json={"key_IDs": []}), 400)
    _error(sae_b.post("/api/v1/keys/SAE_A/dec_keys", json={"key_IDs": [unknown]}), 400)
    # A real key among unknown ones: all or nothing, and the real key stays retrievable.
    (real,) = _keys(sae_a.get("/api/v1/keys/SAE_B/enc_keys"))
    mixed = {"key_IDs": [{"key_ID": real}, {"key_ID": unknown}]}
    _error(sae_b.post("/api/v1/keys/SAE_A/dec_keys", json=mixed), 400, NOT_FOUND)
    assert real in _keys(sae_b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": real}))


def test_401_without_body(pair: Pair, sae_a: httpx.Client) -> None:
    # SAE_X has a valid certificate from the CA but is attached to no KME.
    with pair.client("SAE_X", pair.url_a) as x:
        for r in (x.get("/api/v1/keys/SAE_B/status"), x.get("/api/v1/keys/SAE_B/enc_keys")):
            assert r.status_code == 401 and r.content == b""
    # SAE_B's own certificate at KME_A: SAE_B is not served there.
    with pair.client("SAE_B", pair.url_a) as wrong:
        r = wrong.get("/api/v1/keys/SAE_A/status")
        assert r.status_code == 401 and r.content == b""
    # A dec_keys caller that was not named as a slave.
    (key_id,) = _keys(sae_a.get("/api/v1/keys/SAE_B/enc_keys"))
    with pair.client("SAE_B2") as b2:
        r = b2.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id})
        assert r.status_code == 401 and r.content == b""
    # An SAE certificate on the KME-to-KME link.
    r = sae_a.post("/kme/v1/reservations", json={"reservations": []})
    assert r.status_code == 401 and r.content == b""


def test_identity_comes_from_the_certificate_only(pair: Pair) -> None:
    """A caller presenting SAE_B2's certificate is SAE_B2, whatever it claims otherwise."""
    with pair.client("SAE_A") as a:
        (key_id,) = _keys(a.get("/api/v1/keys/SAE_B/enc_keys"))
    with pair.client("SAE_B2") as b2:
        for headers, params in (
            ({"X-SAE-ID": "SAE_B", "Request-SAE-ID": "SAE_B"}, {"key_ID": key_id}),
            ({}, {"key_ID": key_id, "sae_id": "SAE_B"}),
        ):
            r = b2.get("/api/v1/keys/SAE_A/dec_keys", params=params, headers=headers)
            assert r.status_code in (400, 401)
    with pair.client("SAE_B") as b:
        assert key_id in _keys(b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id}))


def test_tls_refuses_missing_or_foreign_certificates(pair: Pair, tmp_path: Path) -> None:
    certs = pair.root / "certs"
    bare = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    with httpx.Client(base_url=pair.url_a, verify=bare) as c, pytest.raises(httpx.TransportError):
        c.get("/api/v1/keys/SAE_B/status")
    write_certificates(tmp_path, [], ["SAE_A"])  # same name, another CA
    foreign = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    foreign.load_cert_chain(str(tmp_path / "SAE_A.crt"), str(tmp_path / "SAE_A.key"))
    with (
        httpx.Client(base_url=pair.url_a, verify=foreign) as c,
        pytest.raises(httpx.TransportError),
    ):
        c.get("/api/v1/keys/SAE_B/status")
    old = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    old.load_cert_chain(str(certs / "SAE_A.crt"), str(certs / "SAE_A.key"))
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(base_url=pair.url_a, verify=old) as c:  # TLS 1.2 is accepted
        assert c.get("/api/v1/keys/SAE_B/status").status_code == 200


def test_openapi_document_is_served(sae_a: httpx.Client) -> None:
    r = sae_a.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert {
        "/api/v1/keys/{slave_SAE_ID}/status",
        "/api/v1/keys/{slave_SAE_ID}/enc_keys",
        "/api/v1/keys/{master_SAE_ID}/dec_keys",
    } <= set(doc["paths"])
    assert set(doc["components"]["schemas"]["Status"]["required"]) == set(STATUS_FIELDS)


def test_unknown_paths_and_methods(sae_a: httpx.Client) -> None:
    assert sae_a.get("/api/v1/keys/SAE_B/other").status_code == 404
    assert sae_a.get("/nothing").status_code == 404
    assert sae_a.delete("/api/v1/keys/SAE_B/enc_keys").status_code == 405
    assert sae_a.post("/api/v1/keys/SAE_B/status").status_code == 405


def test_pool_exhaustion_is_503_and_nothing_is_wasted(tmp_path: Path) -> None:
    """Keys cut to any multiple of 8 bits use the pool to the last byte, in order, then 503."""
    with running_pair(
        tmp_path, key_bits=256 * 16, extra_a="key_size_bits = 8", extra_b="key_size_bits = 8"
    ) as p:
        with sqlite3.connect(tmp_path / "alice.db") as db:
            rows = db.execute("SELECT key_id, material FROM keys ORDER BY rowid").fetchall()
        assert len(rows) == 16
        owned = b"".join(m for k, m in rows if owner_of(k, ("KME_A", "KME_B")) == "KME_A")
        peer_owned = b"".join(m for k, m in rows if owner_of(k, ("KME_A", "KME_B")) == "KME_B")
        with p.client("SAE_A") as a, p.client("SAE_B") as b:
            available = a.get("/api/v1/keys/SAE_B/status").json()["stored_key_count"]  # bytes
            assert available == len(owned)
            assert b.get("/api/v1/keys/SAE_A/status").json()["stored_key_count"] == len(peer_owned)
            delivered: list[tuple[str, bytes]] = []
            sizes = [40, 8, 296, 24]
            i = 0
            while True:
                size = sizes[i % len(sizes)]
                r = a.get("/api/v1/keys/SAE_B/enc_keys", params={"size": size})
                if r.status_code == 503:
                    break
                delivered += list(_keys(r).items())
                i += 1
            _error(r, 503)
            rest = available - sum(len(k) for _, k in delivered)
            assert 0 <= rest < max(sizes) // 8  # only the last, too large, cut is left
            if rest:
                r = a.get("/api/v1/keys/SAE_B/enc_keys", params={"size": rest * 8})
                delivered += list(_keys(r).items())
            assert a.get("/api/v1/keys/SAE_B/status").json()["stored_key_count"] == 0
            # The keys are the owned store material, cut in order, without a byte lost.
            assert b"".join(k for _, k in delivered) == owned
            for key_id, key in delivered:
                r = b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id})
                assert _keys(r) == {key_id: key}


def test_32_concurrent_clients_never_get_a_key_twice(tmp_path: Path) -> None:
    with running_pair(tmp_path, key_bits=256 * 300) as p:
        certs = p.root / "certs"
        ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        ctx.load_cert_chain(str(certs / "SAE_A.crt"), str(certs / "SAE_A.key"))

        def worker(_: int) -> dict[str, bytes]:
            got: dict[str, bytes] = {}
            with httpx.Client(base_url=p.url_a, verify=ctx, timeout=30) as c:
                while True:
                    r = c.get("/api/v1/keys/SAE_B/enc_keys", params={"size": 128})
                    if r.status_code == 503:
                        return got
                    got.update(_keys(r))

        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(worker, range(32)))
        all_ids = [k for r in results for k in r]
        all_keys = [v for r in results for v in r.values()]
        assert len(all_ids) == len(set(all_ids)) and len(all_keys) == len(set(all_keys))
        merged = {k: v for r in results for k, v in r.items()}
        assert len(merged) >= 250  # ~150 store keys of 32 bytes owned, 16 bytes each

        with p.client("SAE_B") as b:

            def fetch(ids: list[str]) -> list[int]:
                codes = []
                for key_id in ids:
                    r = b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id})
                    codes.append(r.status_code)
                    if r.status_code == 200:
                        assert _keys(r) == {key_id: merged[key_id]}
                return codes

            ids = list(merged)
            with ThreadPoolExecutor(8) as pool:  # every ID asked twice, concurrently
                codes = [c for cs in pool.map(fetch, [ids[i::4] for i in range(4)] * 2) for c in cs]
        assert codes.count(200) == len(ids) and codes.count(400) == len(ids)


def test_sae_map_maps_a_certificate_name_to_an_sae(tmp_path: Path) -> None:
    with running_pair(tmp_path, extra_a='[sae_map]\n"SAE_X" = "SAE_A2"') as p:
        with p.client("SAE_X", p.url_a) as x:
            body = x.get("/api/v1/keys/SAE_B/status").json()
            assert body["master_SAE_ID"] == "SAE_A2"
            (key_id,) = _keys(x.get("/api/v1/keys/SAE_B/enc_keys"))
        with p.client("SAE_B") as b:
            assert _error(
                b.get("/api/v1/keys/SAE_A/dec_keys", params={"key_ID": key_id}), 400, NOT_FOUND
            )
            assert key_id in _keys(b.get("/api/v1/keys/SAE_A2/dec_keys", params={"key_ID": key_id}))


def test_peer_down_is_503_and_the_outbox_catches_up(tmp_path: Path) -> None:
    from qkdstack.kms.config import load_config

    from kme_harness import make_pair_files, serve_in_threads

    cfg_a, cfg_b, sock_a, sock_b = make_pair_files(tmp_path, key_bits=256 * 64)
    a, b = load_config(cfg_a), load_config(cfg_b)
    with serve_in_threads((a, sock_a)), Pair(tmp_path, a, b, a.url, b.url).client("SAE_A") as c:
        before = c.get("/api/v1/keys/SAE_B/status").json()["stored_key_count"]
        body = _error(c.get("/api/v1/keys/SAE_B/enc_keys"), 503)
        assert "peer" in body["message"]
        # The refused key is consumed, never handed out under another ID.
        assert c.get("/api/v1/keys/SAE_B/status").json()["stored_key_count"] == before - 1
        assert len(_keys(c.get("/api/v1/keys/SAE_A2/enc_keys"))) == 1  # a local slave still works
        with serve_in_threads((b, sock_b)):
            deadline = time.monotonic() + 20
            with sqlite3.connect(tmp_path / "bob.db") as db:
                while not db.execute("SELECT COUNT(*) FROM kms_reserved").fetchone()[0]:
                    assert time.monotonic() < deadline, "the outbox was not pushed"
                    time.sleep(0.1)
            assert len(_keys(c.get("/api/v1/keys/SAE_B/enc_keys"))) == 1


def test_a_key_is_returned_only_after_both_kmes_made_it_durable(tmp_path: Path) -> None:
    import asyncio
    import threading

    from qkdstack.kms.config import load_config

    from kme_harness import make_pair_files, serve_in_threads

    cfg_a, cfg_b, sock_a, sock_b = make_pair_files(tmp_path, key_bits=256 * 64)
    a, b = load_config(cfg_a), load_config(cfg_b)
    with serve_in_threads((a, sock_a), (b, sock_b)) as (app_a, _app_b):
        gates = {"commit": threading.Event(), "push": threading.Event()}

        def gated(name: str, original: Any) -> Any:
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                while not gates[name].is_set():
                    await asyncio.sleep(0.01)
                return await original(*args, **kwargs)

            return wrapper

        app_a.pool.commit_delivery = gated("commit", app_a.pool.commit_delivery)
        app_a.link.push = gated("push", app_a.link.push)
        with Pair(tmp_path, a, b, a.url, b.url).client("SAE_A") as c:
            # Whichever step is let through first, the answer waits for the other one too.
            for order in (("push", "commit"), ("commit", "push")):
                for gate in gates.values():
                    gate.clear()
                result: list[httpx.Response] = []
                thread = threading.Thread(
                    target=lambda out=result: out.append(c.get("/api/v1/keys/SAE_B/enc_keys"))
                )
                thread.start()
                for name in order:
                    time.sleep(0.5)
                    assert not result, f"answered before the {name} step"
                    gates[name].set()
                thread.join(timeout=20)
                (key_id,) = _keys(result[0])
                with sqlite3.connect(tmp_path / "bob.db") as db:
                    query = "SELECT 1 FROM kms_reserved WHERE key_id = ?"
                    assert db.execute(query, (key_id,)).fetchone()


def test_key_material_is_never_logged(
    sae_a: httpx.Client, sae_b: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    got = _keys(sae_a.post("/api/v1/keys/SAE_B/enc_keys", json={"number": 2, "size": 256}))
    fetched = _keys(
        sae_b.post("/api/v1/keys/SAE_A/dec_keys", json={"key_IDs": [{"key_ID": k} for k in got]})
    )
    assert fetched == got
    _error(
        sae_b.post("/api/v1/keys/SAE_A/dec_keys", json={"key_IDs": [{"key_ID": k} for k in got]}),
        400,
    )
    text = caplog.text
    for key in got.values():
        for form in (base64.b64encode(key).decode(), key.hex(), key.hex().upper()):
            assert form not in text


def test_a_restarted_peer_is_reached_again_on_the_kept_alive_link(tmp_path: Path) -> None:
    import socket

    from qkdstack.kms.config import load_config

    from kme_harness import make_pair_files, serve_in_threads

    cfg_a, cfg_b, sock_a, sock_b = make_pair_files(tmp_path, key_bits=256 * 64)
    a, b = load_config(cfg_a), load_config(cfg_b)
    with serve_in_threads((a, sock_a)), Pair(tmp_path, a, b, a.url, b.url).client("SAE_A") as c:
        with serve_in_threads((b, sock_b)):
            assert len(_keys(c.get("/api/v1/keys/SAE_B/enc_keys"))) == 1
        again = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", b.port))
        with serve_in_threads((b, again)):
            # KME_A's kept-alive link connection went away with the first KME_B: the next push
            # opens a fresh one instead of failing the request.
            assert len(_keys(c.get("/api/v1/keys/SAE_B/enc_keys"))) == 1


def test_server_tls_context_requires_client_certificates_and_tls_1_2(pair: Pair) -> None:
    from qkdstack.kms.server import server_ssl_context

    ctx = server_ssl_context(pair.config_a)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2

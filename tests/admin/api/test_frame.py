"""What every call of the management API relies on: the token, the role, the error shape, the types."""

from __future__ import annotations

from smsplatform.admin.auth import MAX_TOKEN_NAME
from tests.admin.api.conftest import Mgmt, bearer


async def test_no_token_or_a_bad_one_is_refused_with_a_bearer_challenge(mgmt: Mgmt) -> None:
    missing = await mgmt.anonymous.get("/operators")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"] == "unauthorized"
    for header in (bearer("smsop_not-a-token"), bearer(""), {"Authorization": "Basic YWxpY2U6eA=="}):
        wrong = await mgmt.anonymous.get("/operators", headers=header)
        assert wrong.status_code == 401, header
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        assert set(wrong.json()) == {"error", "message"}


async def test_a_revoked_token_or_a_disabled_operator_stops_working_at_once(mgmt: Mgmt) -> None:
    made = await mgmt.ok("POST", "/tokens", json={"operator": "rita", "name": "grafana"})
    assert made["token"].startswith("smsop_") and made["operator"] == "rita"
    listed = await mgmt.ok("GET", "/tokens")
    assert made["id"] in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)
    fresh = bearer(made["token"])
    assert (await mgmt.anonymous.get("/operators", headers=fresh)).status_code == 200
    revoked = await mgmt.client.delete(f"/tokens/{made['id']}")
    assert revoked.status_code == 204 and not revoked.content
    assert (await mgmt.anonymous.get("/operators", headers=fresh)).status_code == 401

    await mgmt.ok("PATCH", "/operators/rita", json={"enabled": False})
    assert (await mgmt.reviewer.get("/operators")).status_code == 401
    await mgmt.ok("PATCH", "/operators/rita", json={"enabled": True})
    assert (await mgmt.reviewer.get("/operators")).status_code == 200


async def test_a_reviewer_reads_but_cannot_change(mgmt: Mgmt) -> None:
    operators = await mgmt.ok("GET", "/operators", as_reviewer=True)
    assert {(o["name"], o["role"]) for o in operators} == {("alice", "admin"), ("rita", "reviewer")}
    for method, path, body in (
        ("POST", "/operators", {"name": "mallory", "role": "admin", "password": "x" * 12}),
        ("PATCH", "/operators/rita", {"role": "admin"}),
        ("POST", "/tokens", {"operator": "rita"}),
        ("POST", "/tokens", "not even JSON"),
    ):
        refused = await mgmt.reviewer.request(method, path, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"] == "forbidden"
    assert [o["role"] for o in await mgmt.ok("GET", "/operators") if o["name"] == "rita"] == ["reviewer"]


async def test_bad_input_is_a_400_that_says_what_is_wrong(mgmt: Mgmt) -> None:
    cases = [
        ("POST", "/operators", b"{not json", "malformed_json", "JSON"),
        ("POST", "/operators", b"[1, 2]", "invalid", "object"),
        ("POST", "/operators", b'{"name": "bob", "role": "admin"}', "invalid", "password is required"),
        ("POST", "/operators", b'{"name": 7, "role": "admin", "password": "0123456789"}', "invalid", "name"),
        (
            "POST",
            "/operators",
            b'{"name": "bob", "role": "boss", "password": "0123456789"}',
            "invalid",
            "role",
        ),
        ("POST", "/operators", b'{"name": "bob", "role": "admin", "password": "short"}', "invalid", "10"),
        (
            "POST",
            "/operators",
            b'{"name": "bob", "role": "admin", "password": "0123456789", "x": 1}',
            "invalid",
            "x",
        ),
        ("PATCH", "/operators/rita", b'{"enabled": "yes"}', "invalid", "enabled"),
        ("GET", "/audit?limit=ten", b"", "invalid", "limit"),
        ("GET", "/audit?limit=0", b"", "invalid", "limit"),
        ("GET", "/audit?limit=99999999999999999999999", b"", "invalid", "limit"),
        ("GET", "/audit?limt=10", b"", "invalid", "limt"),
        ("DELETE", "/tokens/abc", b"", "invalid", "token_id"),
    ]
    for method, path, body, code, mentioned in cases:
        answer = await mgmt.client.request(method, path, content=body)
        assert answer.status_code == 400, (method, path, body, answer.text)
        assert answer.json()["error"] == code, answer.text
        assert mentioned in answer.json()["message"], answer.text


async def test_missing_things_are_404_and_conflicts_409(mgmt: Mgmt) -> None:
    gone = await mgmt.client.patch("/operators/nobody", json={"enabled": False})
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert "nobody" in gone.json()["message"]
    assert (await mgmt.client.delete("/tokens/99999")).status_code == 404
    again = await mgmt.client.post("/operators", json={"name": "rita", "role": "admin", "password": "x" * 12})
    assert again.status_code == 409 and again.json()["error"] == "operator_exists"
    for method, path in (("GET", "/no/such/path"), ("PUT", "/operators")):
        answer = await mgmt.client.request(method, path)
        assert answer.status_code in (404, 405)
        assert set(answer.json()) == {"error", "message"}


async def test_changes_through_the_api_are_audited_as_the_token_s_operator(mgmt: Mgmt) -> None:
    await mgmt.ok("POST", "/operators", json={"name": "bob", "role": "reviewer", "password": "x" * 12})
    await mgmt.ok("PUT", "/operators/bob/password", json={"password": "y" * 12})
    entries = await mgmt.ok("GET", "/audit", params={"operator": "alice"}, as_reviewer=True)
    assert [(e["action"], e["via"], e["target"]) for e in entries] == [
        ("operator.password", "api", "operator bob"),
        ("operator.create", "api", "operator bob"),
    ]
    assert entries[1]["after"] == {"role": "reviewer"} and entries[1]["before"] is None
    older = await mgmt.ok("GET", "/audit", params={"operator": "alice", "before_id": entries[0]["id"]})
    assert [e["id"] for e in older] == [entries[1]["id"]]
    assert await mgmt.ok("GET", "/audit", params={"action": "operator.password", "limit": 1}) == entries[:1]


async def test_an_empty_body_means_no_fields_but_whitespace_is_not_json(mgmt: Mgmt) -> None:
    assert (await mgmt.client.post("/callbacks/retry", content=b"")).status_code == 200
    blank = await mgmt.client.post(
        "/callbacks/retry", content=b" ", headers={"Content-Type": "application/json"}
    )
    assert blank.status_code == 400 and blank.json()["error"] == "malformed_json"


async def test_a_token_label_longer_than_its_column_is_refused_not_failed(mgmt: Mgmt) -> None:
    too_long = await mgmt.client.post(
        "/tokens", json={"operator": "rita", "name": "x" * (MAX_TOKEN_NAME + 1)}
    )
    assert too_long.status_code == 400 and "label" in too_long.json()["message"]
    fits = await mgmt.ok("POST", "/tokens", json={"operator": "rita", "name": "x" * MAX_TOKEN_NAME})
    assert fits["name"] == "x" * MAX_TOKEN_NAME

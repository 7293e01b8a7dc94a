"""customer, account, template and review on the command line."""

from __future__ import annotations

import datetime as dt

import pytest

from smsplatform.store import accounts, customers, templates
from smsplatform.store.templates import TemplateDraft
from tests.cli.conftest import Cli


def account(run: Cli, customer_id: int, signature: str = "【甲方】", totalnum: int = 10) -> int:
    fields = {"company": "公司", "signature": signature, "totalnum": totalnum}
    created = run.database(accounts.create_account, customer_id, fields, approve=False)
    return int(created.id)


def template(run: Cli, account_id: int, name: str = "通知", content: str = "您好@") -> int:
    draft = TemplateDraft(name, content, 0, "notification", 0, "")
    return int(run.database(templates.create_template, account_id, draft).id)


def customer(run: Cli, name: str = "甲", totalnum: int = 100) -> int:
    return int(run.json("customer", "create", "--name", name, "--totalnum", str(totalnum))["customer"]["id"])


# --- customers ---------------------------------------------------------------------------------


def test_customer_create_prints_the_appkey_once(run: Cli) -> None:
    appkey = run.ok("customer", "create", "--name", "进制数据", "--totalnum", "1000").strip()
    assert len(appkey) == 32
    listed = run.json("customer", "list")
    assert [(c["name"], c["totalnum"], c["allocated"]) for c in listed] == [("进制数据", 1000, 0)]
    table = run.ok("customer", "list")
    assert "进制数据" in table and appkey not in table
    assert appkey not in run.ok("customer", "show", "1") and appkey not in run.ok("audit", "list")


def test_rotate_key_prints_the_new_appkey_once_and_the_old_one_works_through_the_grace(run: Cli) -> None:
    first = run.ok("customer", "create", "--name", "甲", "--totalnum", "100").strip()
    code, out, err = run.run("customer", "rotate-key", "1", "--grace", "2h")
    second = out.strip()
    assert code == 0 and len(second) == 32 and second != first
    assert err.startswith("the old appkey works until ")
    assert run.database(customers.get_customer_by_appkey, first) is not None
    shown = run.json("customer", "show", "1")
    assert shown["old_appkey_ends_at"] is not None and first not in str(shown) and second not in str(shown)
    code, out, err = run.run("customer", "rotate-key", "1", "--grace", "0")
    third = out.strip()
    assert code == 0 and err == "the old appkey works no longer\n"
    assert run.database(customers.get_customer_by_appkey, second) is None
    assert run.database(customers.get_customer_by_appkey, third) is not None
    log = run.ok("audit", "list", "--action", "customer.rotate_key")
    assert log.count("customer.rotate_key") == 2
    assert all(key not in log for key in (first, second, third))
    assert "not found: customer 9" in run.fails("customer", "rotate-key", "9")
    assert "--grace" in run.fails("customer", "rotate-key", "1", "--grace", "soon", code=2)


def test_customer_create_with_every_option(run: Cli) -> None:
    created = run.json(
        "customer",
        "create",
        "--name",
        "甲",
        "--totalnum",
        "5",
        "--expires",
        "2030-01-31",
        "--allow-ip",
        "10.0.0.1",
        "--allow-ip",
        "192.168.0.0/16",
        "--daily-limit",
        "100",
    )
    info = created["customer"]
    last_second = dt.datetime(2030, 1, 31, 23, 59, 59).astimezone()  # the whole day works, local time
    assert info["expires_at"] == int(last_second.timestamp())
    assert info["allow_ips"] == ["10.0.0.1/32", "192.168.0.0/16"]
    assert (info["daily_request_limit"], info["enabled"]) == (100, True)
    assert len(created["appkey"]) == 32
    shown = run.ok("customer", "show", str(info["id"]))
    assert "expires_at:          2030-01-31 23:59:59" in shown and "10.0.0.1/32, 192.168.0.0/16" in shown


def test_customer_switches(run: Cli) -> None:
    customer_id = str(customer(run, totalnum=5))
    assert run.json("customer", "topup", customer_id, "10")["totalnum"] == 15
    assert run.json("customer", "disable", customer_id)["enabled"] is False
    assert run.json("customer", "enable", customer_id)["enabled"] is True
    assert run.json("customer", "allow-ip", customer_id, "10.1.0.0/16", "10.2.0.1")["allow_ips"] == [
        "10.1.0.0/16",
        "10.2.0.1/32",
    ]
    assert run.json("customer", "allow-ip", customer_id, "--clear")["allow_ips"] == []
    assert run.json("customer", "daily-limit", customer_id, "500")["daily_request_limit"] == 500
    assert run.json("customer", "daily-limit", customer_id, "--clear")["daily_request_limit"] is None
    assert run.json("customer", "expires", customer_id, "--clear")["expires_at"] is None
    assert "--clear" in run.fails("customer", "allow-ip", customer_id)
    assert "--clear" in run.fails("customer", "daily-limit", customer_id, "5", "--clear")
    account(run, int(customer_id), totalnum=12)
    assert run.json("customer", "list")[0]["allocated"] == 12
    actions = [e["action"] for e in run.json("audit", "list", "--action", "customer")]
    assert actions[0] == "customer.expiry" and actions[-1] == "customer.create" and len(actions) == 9


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "create", "--totalnum", "5"],
        ["customer", "create", "--name", "x", "--totalnum", "0"],
        ["customer", "create", "--name", "x", "--totalnum", "-3"],
        ["customer", "create", "--name", "x", "--totalnum", "many"],
        ["customer", "create", "--name", "x", "--totalnum", "5", "--expires", "31/01/2030"],
        ["customer", "create", "--name", "x", "--totalnum", "5", "--allow-ip", "10.0.0.300"],
        ["customer", "create", "--name", "x", "--totalnum", "5", "--daily-limit", "0"],
        ["customer", "create", "--name", "", "--totalnum", "5"],
        ["customer", "create", "--name", "名" * 101, "--totalnum", "5"],
        ["customer", "topup", "1", "0"],
        ["customer", "topup", "one", "5"],
        ["customer", "allow-ip", "1", "nonsense"],
        ["customer", "frobnicate"],
        ["account", "reject", "1"],
        ["account", "reject", "1", "--reason", "因" * 501],
        ["account", "approve"],
        ["account", "list", "--status", "sleeping"],
        ["template", "reject", "1", "--reason", " "],
        ["account", "limits", "1", "--kind", "spam", "--limits", "1/60"],
        [],
    ],
)
def test_bad_command_lines_exit_2_with_usage(run: Cli, args: list[str]) -> None:
    err = run.fails(*args, code=2)
    assert "usage:" in err


def test_unknown_ids_exit_1_and_say_so(run: Cli) -> None:
    for args in (
        ["customer", "topup", "999", "5"],
        ["customer", "disable", "999"],
        ["customer", "show", "999"],
        ["account", "approve", "999"],
        ["account", "reject", "999", "--reason", "x"],
        ["account", "disable", "999"],
        ["account", "enable", "999"],
        ["account", "exempt", "999"],
        ["account", "limits", "999", "--kind", "marketing", "--limits", "1/60"],
        ["template", "approve", "999"],
        ["template", "reject", "999", "--reason", "x"],
        ["template", "show", "999"],
    ):
        err = run.fails(*args)
        assert err.startswith("error: not found:") and "999" in err, args


# --- sub-accounts ------------------------------------------------------------------------------


def test_account_review_in_bulk_and_enable_again(run: Cli) -> None:
    customer_id = customer(run, "甲公司")
    first, second, third = (account(run, customer_id, s) for s in ("【甲方】", "【乙方】", "【丙方】"))
    pending = run.json("account", "list", "--pending")
    assert [(a["id"], a["customer_name"]) for a in pending] == [
        (first, "甲公司"),
        (second, "甲公司"),
        (third, "甲公司"),
    ]
    approved = run.json("account", "approve", str(first), str(third))
    assert [(a["id"], a["status"]) for a in approved] == [(first, "approved"), (third, "approved")]
    rejected = run.json("account", "reject", str(second), "--reason", "资质不全")
    assert [(a["status"], a["failreason"]) for a in rejected] == [("rejected", "资质不全")]
    assert run.json("account", "disable", str(third))["status"] == "disabled"
    assert "disabled" in run.fails("account", "approve", str(third))
    assert run.json("account", "enable", str(third))["status"] == "approved"
    assert "not disabled" in run.fails("account", "enable", str(third))
    assert run.json("account", "list", "--pending") == []
    assert run.ok("account", "list", "--pending").strip() == "(none)"
    assert [a["status"] for a in run.json("account", "list")] == ["approved", "rejected", "approved"]
    assert [a["id"] for a in run.json("account", "list", "--status", "rejected")] == [second]
    table = run.ok("account", "list", "--customer", str(customer_id))
    assert table.splitlines()[0].split()[:4] == ["id", "customer", "id", "customer"]
    assert "甲公司" in table and "【乙方】" in table


def test_a_bulk_review_is_all_or_nothing(run: Cli) -> None:
    customer_id = customer(run)
    first = account(run, customer_id)
    assert "account 999" in run.fails("account", "approve", str(first), "999")
    assert run.json("account", "list")[0]["status"] == "pending"


def test_account_exempt_and_limits(run: Cli) -> None:
    account_id = str(account(run, customer(run)))
    assert run.json("account", "exempt", account_id)["template_exempt"] is True
    assert run.json("account", "exempt", account_id, "--undo")["template_exempt"] is False
    limited = run.json("account", "limits", account_id, "--kind", "verification", "--limits", "1/60,3/1h")
    assert limited["freq_limits"] == {"verification": "1/60,3/1h"}
    both = run.json("account", "limits", account_id, "--kind", "marketing", "--limits", "2/d")
    assert both["freq_limits"] == {"verification": "1/60,3/1h", "marketing": "2/d"}
    reset = run.json("account", "limits", account_id, "--kind", "verification", "--reset")
    assert reset["freq_limits"] == {"marketing": "2/d"}
    assert "bad limits" in run.fails("account", "limits", account_id, "--kind", "marketing", "--limits", "x")
    assert "--limits" in run.fails("account", "limits", account_id, "--kind", "marketing")
    assert run.database(accounts.get_account, int(account_id)).freq_limits == {"marketing": "2/d"}
    shown = dict(line.split(":", 1) for line in run.ok("account", "show", account_id).splitlines())
    assert (shown["freq_limits"].strip(), shown["findings"].strip()) == ("marketing=2/d", "none")


def test_account_max_age(run: Cli) -> None:
    account_id = str(account(run, customer(run)))
    shorter = run.json("account", "max-age", account_id, "--kind", "verification", "--seconds", "300")
    assert shorter["max_age"] == {"verification": 300}
    both = run.json("account", "max-age", account_id, "--kind", "marketing", "--seconds", "2h")
    assert both["max_age"] == {"verification": 300, "marketing": 7200}
    reset = run.json("account", "max-age", account_id, "--kind", "verification", "--reset")
    assert reset["max_age"] == {"marketing": 7200}
    assert "expected seconds" in run.fails(
        "account", "max-age", account_id, "--kind", "marketing", "--seconds", "x", code=2
    )
    assert "365 days" in run.fails(
        "account", "max-age", account_id, "--kind", "marketing", "--seconds", "0", code=2
    )
    assert "--seconds" in run.fails("account", "max-age", account_id, "--kind", "marketing")
    assert run.database(accounts.get_account, int(account_id)).max_age == {"marketing": 7200}
    shown = dict(line.split(":", 1) for line in run.ok("account", "show", account_id).splitlines())
    assert shown["max_age"].strip() == "marketing=7200"


# --- templates and the review queue ------------------------------------------------------------


def test_template_review_in_bulk(run: Cli) -> None:
    account_id = account(run, customer(run, "甲公司"))
    first, second, third = (template(run, account_id, name) for name in ("一", "二", "三"))
    listed = run.json("template", "list", "--pending")
    assert [(t["id"], t["signature"], t["customer_name"]) for t in listed] == [
        (first, "【甲方】", "甲公司"),
        (second, "【甲方】", "甲公司"),
        (third, "【甲方】", "甲公司"),
    ]
    assert [t["status"] for t in run.json("template", "approve", str(first), str(second))] == ["approved"] * 2
    rejected = run.json("template", "reject", str(third), "--reason", "含有链接")
    assert [(t["status"], t["failreason"]) for t in rejected] == [("rejected", "含有链接")]
    assert run.json("template", "list", "--pending") == []
    assert len(run.json("template", "list", "--account", str(account_id))) == 3
    assert "already approved" in run.fails("template", "approve", str(first))


def test_review_list_shows_what_the_checks_find(run: Cli) -> None:
    customer_id = customer(run, "甲公司")
    flagged = account(run, customer_id, "【博彩之家】")
    run.ok("blackword", "add", "博彩", "赌博")
    template(run, flagged, "一", "赌博请回复@")
    text = run.ok("review", "list")
    assert "Sub-accounts waiting for review:" in text and "Templates waiting for review:" in text
    assert "sensitive word “博彩” in signature" in text
    assert "sensitive word “赌博” in content; sub-account is pending" in text
    queue = run.json("review", "list")
    assert queue["accounts"][0]["findings"] == [
        {"rule": "sensitive_word", "field": "signature", "detail": "博彩"}
    ]
    assert queue["templates"][0]["template"]["customer_name"] == "甲公司"
    shown = dict(line.split(":", 1) for line in run.ok("template", "show", "1").splitlines())
    assert shown["findings"].strip().startswith("sensitive word “赌博” in content")
    assert run.json("template", "show", "1")["findings"][0]["detail"] == "赌博"

"""Sub-account endpoints: balance, blackword, addaccount, editaccount, accountlist (SPEC §4.2–4.6)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsplatform.store import schema, words
from smsplatform.store.accounts import Account, AccountStatus
from smsplatform.store.widths import width
from tests.api.conftest import NOTIFY, Api, ApiFactory, Tenant, error, filled, ok
from tests.domain.lookalikes import INVISIBLES, sprinkled

# The seed's field lists, in the seed's order.
ACCOUNT_FIELDS = [
    "company",
    "signature",
    "statusurl",
    "replyurl",
    "replyusername",
    "replypassword",
    "totalnum",
    "accountid",
]
LIST_FIELDS = [
    "accountid",
    "company",
    "signature",
    "statusurl",
    "replyurl",
    "replyusername",
    "replypassword",
    "totalnum",
    "usednum",
    "status",
    "istemnocheck",
    "failreason",
    "addtime",
]
BALANCE_FIELDS = ["accountid", "company", "totalnum", "usednum"]

NEW = {
    "company": "进制数据",
    "signature": "【进制数据】",
    "statusurl": "https://example.com/status",
    "replyurl": "https://example.com/reply",
    "replyusername": "user",
    "replypassword": "secret",
    "totalnum": "10",
}


async def listed(tenant: Tenant, **params: str) -> dict[str, Any]:
    result: dict[str, Any] = ok(await tenant.call("accountlist", params))
    return result


# --- balance and blackword ---------------------------------------------------------------------


async def test_balance_lists_every_sub_account_with_the_seeds_fields(tenant: Tenant, shop: Account) -> None:
    second = await tenant.account("【第二公司】", totalnum=5, company="第二公司")
    ok(await tenant.send("13800138000", filled(NOTIFY)))
    result = ok(await tenant.call("balance"))
    assert result == [
        {"accountid": str(shop.id), "company": "测试公司", "totalnum": "10000", "usednum": "1"},
        {"accountid": str(second.id), "company": "第二公司", "totalnum": "5", "usednum": "0"},
    ]
    assert all(list(row) == BALANCE_FIELDS for row in result)


async def test_balance_of_a_customer_without_sub_accounts_is_empty(tenant: Tenant) -> None:
    assert ok(await tenant.call("balance")) == []


async def test_blackword_lists_the_platform_words(api: Api, tenant: Tenant) -> None:
    assert ok(await tenant.call("blackword")) == []
    await api.write(words.add_words, ["售罄", "卧室", " 公馆 "])
    assert ok(await tenant.call("blackword")) == sorted(["售罄", "卧室", "公馆"])


# --- addaccount --------------------------------------------------------------------------------


async def test_addaccount_answers_the_sub_account_as_stored(tenant: Tenant) -> None:
    result = ok(await tenant.call("addaccount", NEW))
    assert list(result) == ACCOUNT_FIELDS
    assert {k: v for k, v in result.items() if k != "accountid"} == NEW
    account = await tenant.get_account(int(result["accountid"]))
    assert (account.customer_id, account.status, account.usednum) == (tenant.customer.id, 0, 0)


async def test_seed_example_with_empty_optional_fields(tenant: Tenant) -> None:
    params = {**NEW, "statusurl": "", "replyurl": "", "replyusername": "", "replypassword": ""}
    result = ok(await tenant.call("addaccount", params))
    assert result["statusurl"] == result["replyurl"] == ""


async def test_a_new_sub_account_is_pending_until_approved(tenant: Tenant) -> None:
    ok(await tenant.call("addaccount", NEW))
    row = (await listed(tenant))["list"][0]
    assert (row["status"], row["istemnocheck"], row["failreason"]) == ("0", "0", "")


async def test_auto_approve_setting_approves_at_once(make_api: ApiFactory) -> None:
    api = await make_api(auto_approve=True)
    tenant = await api.customer()
    ok(await tenant.call("addaccount", NEW))
    assert (await listed(tenant))["list"][0]["status"] == "1"


ADD_REFUSALS = [
    ({"company": ""}, 214),
    ({"company": "   "}, 214),
    ({"signature": ""}, 211),
    ({"signature": "进制数据"}, 212),
    ({"signature": "【进】"}, 212),
    ({"signature": "【" + "字" * 13 + "】"}, 212),
    ({"signature": "【进制数据"}, 212),
    ({"signature": "【进制】【数据】"}, 212),
    ({"signature": "[进制数据]"}, 212),
    ({"totalnum": ""}, 215),
    ({"totalnum": "0"}, 215),
    ({"totalnum": "100001"}, 216),
    ({"totalnum": "-5"}, 232),
    ({"totalnum": "ten"}, 232),
    ({"totalnum": "1.5"}, 232),
]


async def test_addaccount_refusals(tenant: Tenant) -> None:
    for change, code in ADD_REFUSALS:
        assert error(await tenant.call("addaccount", {**NEW, **change})) == code, change
    assert ok(await tenant.call("balance")) == []


async def test_addaccount_without_the_field_at_all(tenant: Tenant) -> None:
    for missing, code in (("company", 214), ("signature", 211), ("totalnum", 215)):
        params = {k: v for k, v in NEW.items() if k != missing}
        assert error(await tenant.call("addaccount", params)) == code


async def test_signature_of_2_and_12_characters_is_accepted(tenant: Tenant) -> None:
    ok(await tenant.call("addaccount", {**NEW, "signature": "【进制】", "totalnum": "1"}))
    ok(await tenant.call("addaccount", {**NEW, "signature": "【" + "字" * 12 + "】", "totalnum": "1"}))


async def test_signature_is_unique_across_the_platform(api: Api, tenant: Tenant) -> None:
    ok(await tenant.call("addaccount", NEW))
    assert error(await tenant.call("addaccount", NEW)) == 213
    other = await api.customer()
    assert error(await other.call("addaccount", NEW)) == 213
    assert ok(await other.call("balance")) == []


async def test_totalnum_is_limited_by_the_unallocated_quota(api: Api) -> None:
    tenant = await api.customer(totalnum=100)
    ok(await tenant.call("addaccount", {**NEW, "totalnum": "60"}))
    assert error(await tenant.call("addaccount", {**NEW, "signature": "【乙方】", "totalnum": "41"})) == 216
    ok(await tenant.call("addaccount", {**NEW, "signature": "【乙方】", "totalnum": "40"}))
    assert error(await tenant.call("addaccount", {**NEW, "signature": "【丙方】", "totalnum": "1"})) == 216


async def test_sql_metacharacters_are_stored_verbatim(tenant: Tenant) -> None:
    nasty = {
        "company": "Robert'); DROP TABLE accounts;--",
        "signature": "【O'Re\"il;--】",
        "statusurl": "http://x/?a=1' OR '1'='1",
        "replyurl": "http://x/%' --",
        "replyusername": "admin'--",
        "replypassword": "\\'; SELECT 1; --",
        "totalnum": "3",
    }
    result = ok(await tenant.call("addaccount", nasty))
    assert {k: v for k, v in result.items() if k != "accountid"} == nasty
    row = (await listed(tenant))["list"][0]
    assert {k: row[k] for k in nasty} == nasty


# --- text widths -------------------------------------------------------------------------------

# The most characters each text field takes: the width of the column it is kept in, so that a wider
# column is a wider field. The reply password is kept sealed, as ciphertext: its limit is the one
# customers were given.
TEXT_WIDTHS = {
    "company": width(schema.accounts.c.company),
    "statusurl": width(schema.accounts.c.statusurl),
    "replyurl": width(schema.accounts.c.replyurl),
    "replyusername": width(schema.accounts.c.replyusername),
    "replypassword": 100,
}


def text_of(field: str, length: int, fill: str = "字") -> str:
    """`length` characters for `field`, Chinese where it takes any text: widths count characters."""
    head = "https://example.com/" if field.endswith("url") else ""
    return head + fill * (length - len(head))


@pytest.mark.parametrize("field", TEXT_WIDTHS)
async def test_a_text_field_takes_its_width_and_not_one_character_more(tenant: Tenant, field: str) -> None:
    limit = TEXT_WIDTHS[field]
    over = await tenant.call("addaccount", {**NEW, field: text_of(field, limit + 1)}, method="POST")
    assert error(over) == 232
    added = ok(await tenant.call("addaccount", {**NEW, field: text_of(field, limit)}, method="POST"))
    assert added[field] == text_of(field, limit)

    edit = {"accountid": added["accountid"]}
    longer = await tenant.call("editaccount", {**edit, field: text_of(field, limit + 1, "文")}, method="POST")
    assert error(longer) == 232
    ok(await tenant.call("editaccount", {**edit, field: text_of(field, limit, "文")}, method="POST"))
    [row] = (await listed(tenant))["list"]
    assert row[field] == text_of(field, limit, "文")


# --- editaccount -------------------------------------------------------------------------------


async def test_editaccount_changes_only_the_fields_given(tenant: Tenant, shop: Account) -> None:
    result = ok(await tenant.call("editaccount", {"accountid": str(shop.id), "statusurl": "https://e.com/s"}))
    assert list(result) == ACCOUNT_FIELDS
    assert result == {
        "company": "测试公司",
        "signature": "【测试公司】",
        "statusurl": "https://e.com/s",
        "replyurl": "",
        "replyusername": "",
        "replypassword": "",
        "totalnum": "10000",
        "accountid": str(shop.id),
    }
    assert (await tenant.get_account(shop.id)).status == AccountStatus.APPROVED


async def test_editaccount_with_the_seeds_full_parameter_set(tenant: Tenant, shop: Account) -> None:
    params = {"accountid": str(shop.id), **NEW, "signature": shop.signature, "totalnum": "20"}
    result = ok(await tenant.call("editaccount", params))
    assert result == {**{k: v for k, v in params.items() if k != "accountid"}, "accountid": str(shop.id)}
    # The signature did not change: the sub-account stays approved.
    assert (await tenant.get_account(shop.id)).status == AccountStatus.APPROVED


async def test_a_changed_signature_goes_back_to_review(tenant: Tenant, shop: Account) -> None:
    ok(await tenant.call("editaccount", {"accountid": str(shop.id), "signature": "【新签名】"}))
    account = await tenant.get_account(shop.id)
    assert (account.signature, account.status) == ("【新签名】", AccountStatus.PENDING)
    assert error(await tenant.send("13800138000", "您的订单8已发货，请注意查收【新签名】")) == 206


async def test_a_disabled_sub_account_stays_disabled_after_a_new_signature(tenant: Tenant) -> None:
    account = await tenant.account(status=AccountStatus.DISABLED)
    ok(await tenant.call("editaccount", {"accountid": str(account.id), "signature": "【新签名】"}))
    assert (await tenant.get_account(account.id)).status == AccountStatus.DISABLED


async def test_editaccount_needs_one_of_the_customers_accounts(tenant: Tenant, shop: Account) -> None:
    for params, code in (
        ({}, 218),
        ({"accountid": ""}, 218),
        ({"accountid": "  "}, 218),
        ({"accountid": "999999"}, 219),
        ({"accountid": "abc"}, 219),
        ({"accountid": "-1"}, 219),
        ({"accountid": "1234567890123"}, 219),
    ):
        assert error(await tenant.call("editaccount", {**params, "company": "x"})) == code, params
    assert (await tenant.get_account(shop.id)).company == "测试公司"


async def test_editaccount_refusals_change_nothing(tenant: Tenant, shop: Account) -> None:
    before = await tenant.get_account(shop.id)
    for change, code in (
        ({"company": ""}, 214),
        ({"signature": ""}, 211),
        ({"signature": "【x】"}, 212),
        ({"totalnum": "0"}, 215),
        ({"totalnum": ""}, 215),
        ({"totalnum": "x"}, 232),
        ({"totalnum": "100001"}, 216),
    ):
        assert error(await tenant.call("editaccount", {"accountid": str(shop.id), **change})) == code, change
        assert await tenant.get_account(shop.id) == before


async def test_editaccount_signature_taken_by_another_customer_is_213(api: Api, tenant: Tenant) -> None:
    mine = await tenant.account("【我的公司】")
    other = await api.customer()
    await other.account("【别人公司】")
    answer = await tenant.call("editaccount", {"accountid": str(mine.id), "signature": "【别人公司】"})
    assert error(answer) == 213


async def test_totalnum_not_below_usednum(tenant: Tenant, shop: Account) -> None:
    for mobile in ("13800138001", "13800138002", "13800138003"):
        ok(await tenant.send(mobile, filled(NOTIFY)))
    assert error(await tenant.call("editaccount", {"accountid": str(shop.id), "totalnum": "2"})) == 216
    assert (
        ok(await tenant.call("editaccount", {"accountid": str(shop.id), "totalnum": "3"}))["totalnum"] == "3"
    )
    # Now exhausted: the next send is refused.
    assert error(await tenant.send("13800138004", filled(NOTIFY))) == 209


async def test_totalnum_may_grow_into_the_unallocated_quota(api: Api) -> None:
    tenant = await api.customer(totalnum=100)
    first = await tenant.account("【甲方】", totalnum=60)
    await tenant.account("【乙方】", totalnum=30)
    params = {"accountid": str(first.id)}
    assert ok(await tenant.call("editaccount", {**params, "totalnum": "70"}))["totalnum"] == "70"
    assert error(await tenant.call("editaccount", {**params, "totalnum": "71"})) == 216


# --- accountlist -------------------------------------------------------------------------------


async def test_accountlist_with_the_seeds_fields(tenant: Tenant) -> None:
    before = int(time.time())
    approved = await tenant.account("【甲方】", totalnum=10)
    rejected = await tenant.account("【乙方】", totalnum=5, status=AccountStatus.REJECTED)
    exempt = await tenant.account("【丙方】", totalnum=5, exempt=True)
    result = await listed(tenant)
    assert list(result) == ["total", "pagenum", "pagesize", "list"]
    assert (result["total"], result["pagenum"], result["pagesize"]) == ("3", "1", "20")
    rows = result["list"]
    assert all(list(row) == LIST_FIELDS for row in rows)
    assert [row["accountid"] for row in rows] == [str(approved.id), str(rejected.id), str(exempt.id)]
    assert [(row["status"], row["istemnocheck"]) for row in rows] == [("1", "0"), ("2", "0"), ("1", "1")]
    assert rows[1]["failreason"] == "资质不全"
    assert all(before <= int(row["addtime"]) <= time.time() + 1 for row in rows)


async def test_accountlist_pages(tenant: Tenant) -> None:
    ids = [(await tenant.account(f"【公司{i:02d}】", totalnum=1)).id for i in range(5)]
    page = await listed(tenant, pagenum="2", pagesize="2")
    assert (page["total"], page["pagenum"], page["pagesize"]) == ("5", "2", "2")
    assert [row["accountid"] for row in page["list"]] == [str(i) for i in ids[2:4]]
    last = await listed(tenant, pagenum="3", pagesize="2")
    assert [row["accountid"] for row in last["list"]] == [str(ids[4])]
    beyond = await listed(tenant, pagenum="4", pagesize="2")
    assert (beyond["total"], beyond["list"]) == ("5", [])
    assert len((await listed(tenant, pagesize="100"))["list"]) == 5


# --- isolation between customers ---------------------------------------------------------------


async def test_another_customers_account_answers_exactly_like_a_missing_one(api: Api) -> None:
    owner, stranger = await api.customer(), await api.customer()
    theirs = await owner.account("【别人公司】")
    missing = str(theirs.id + 1000)
    for endpoint, params in (
        ("editaccount", {"company": "偷改"}),
        ("addtemplate", {"name": "n", "content": "您好@", "ismarket": "0"}),
        ("templatelist", {}),
        ("edittemplate", {"templateid": "1", "name": "n", "content": "c"}),
    ):
        foreign = await api.client.get(
            f"/sms/{endpoint}", params={"appkey": stranger.appkey, "accountid": str(theirs.id), **params}
        )
        absent = await api.client.get(
            f"/sms/{endpoint}", params={"appkey": stranger.appkey, "accountid": missing, **params}
        )
        assert foreign.content == absent.content, endpoint
        assert error(foreign.json()) == 219
    assert (await owner.get_account(theirs.id)).company == "测试公司"
    assert ok(await stranger.call("balance")) == []
    assert (await listed(stranger))["total"] == "0"


async def test_a_new_sub_account_is_usable_at_once_on_another_api_process(make_api: ApiFactory) -> None:
    # Scaled out, consecutive calls may land on different processes, each with its cached configuration.
    first, second = await make_api(config_poll_seconds=60), await make_api(config_poll_seconds=60)
    tenant = await first.customer()
    assert ok(await Tenant(second, tenant.customer).call("balance")) == []  # warms the second cache
    created = ok(await tenant.call("addaccount", NEW))["accountid"]
    elsewhere = Tenant(second, tenant.customer)
    added = ok(await elsewhere.call("addtemplate", {"accountid": created, "name": "n", "content": "您好@"}))
    assert added["accountid"] == created
    assert ok(await elsewhere.call("templatelist", {"accountid": created}))["total"] == "1"
    assert ok(await elsewhere.call("editaccount", {"accountid": created, "company": "新"}))["company"] == "新"


# --- look-alike signatures and control characters ----------------------------------------------

LOOKALIKES_OF_JIA = [
    "【甲公司\u200b】",  # zero-width space
    "【\u200d甲公司】",  # zero-width joiner
    "【甲\u00ad公司】",  # soft hyphen
    "【甲公司\ufeff】",  # BOM
    "【甲\u2060公司】",  # word joiner
    "【\u202a甲公司\u202c】",  # bidi embedding
    "\ufeff【甲公司】",
    "【甲公司\ufe0f】",  # variation selector
]


async def test_a_look_alike_of_a_taken_signature_is_213(api: Api, tenant: Tenant) -> None:
    owner = await api.customer()
    ok(await owner.call("addaccount", {**NEW, "signature": "【甲公司】"}))
    for signature in LOOKALIKES_OF_JIA:
        assert error(await tenant.call("addaccount", {**NEW, "signature": signature})) == 213, ascii(
            signature
        )
    mine = await tenant.account("【乙公司】")
    for signature in LOOKALIKES_OF_JIA:
        answer = await tenant.call("editaccount", {"accountid": str(mine.id), "signature": signature})
        assert error(answer) == 213, ascii(signature)
    assert ok(await tenant.call("balance")) == [
        {"accountid": str(mine.id), "company": "测试公司", "totalnum": "10000", "usednum": "0"}
    ]


async def test_a_full_width_look_alike_is_the_same_signature(api: Api, tenant: Tenant) -> None:
    owner = await api.customer()
    ok(await owner.call("addaccount", {**NEW, "signature": "【AB公司(北京)】"}))
    assert error(await tenant.call("addaccount", {**NEW, "signature": "【ＡＢ公司（北京）】"})) == 213


async def test_the_signature_is_stored_in_canonical_form(tenant: Tenant) -> None:
    result = ok(await tenant.call("addaccount", {**NEW, "signature": "【\u202e司公甲\u200b】"}))
    # The bidi override is gone: what the signature shows is what it is.
    assert result["signature"] == "【司公甲】"
    result = ok(await tenant.call("addaccount", {**NEW, "signature": "【ＡＢ公司】"}))
    assert result["signature"] == "【AB公司】"
    assert [row["signature"] for row in (await listed(tenant))["list"]] == ["【司公甲】", "【AB公司】"]


async def test_whitespace_inside_a_signature_is_212_not_fixed(tenant: Tenant) -> None:
    for signature in (
        "【甲公司 】",
        "【 甲公司】",
        "【甲 公司】",
        "【甲\u3000公司】",
        "【甲\u00a0公司】",
        "【ACME Inc】",
    ):
        assert error(await tenant.call("addaccount", {**NEW, "signature": signature})) == 212, ascii(
            signature
        )
    for signature in ("【\u200b】", "【甲\u200b】"):  # nothing, or one character, once the invisible ones go
        assert error(await tenant.call("addaccount", {**NEW, "signature": signature})) in (211, 212)
    assert ok(await tenant.call("balance")) == []


CONTROLS = ["\x00", "\x01", "\x08", "\x1b", "\x7f", "\x85", "\x9f"]


async def test_control_characters_are_232_in_every_text_field(tenant: Tenant, shop: Account) -> None:
    cases = {
        "company": "甲{}公司",
        "signature": "【甲{}公司】",
        "statusurl": "https://example.com/{}status",
        "replyurl": "https://example.com/re{}ply",
        "replyusername": "us{}er",
        "replypassword": "sec{}ret",
    }
    before = await tenant.get_account(shop.id)
    for field, pattern in cases.items():
        for control in CONTROLS:
            value = pattern.format(control)
            answer = await tenant.call("addaccount", {**NEW, field: value})
            assert answer["status"] == "232", (field, ascii(value), answer)
            edit = {"accountid": str(shop.id), field: value}
            assert error(await tenant.call("editaccount", edit)) == 232, (field, ascii(value))
    # Tabs and line breaks inside are control characters too.
    assert error(await tenant.call("addaccount", {**NEW, "company": "甲\t公司"})) == 232
    assert error(await tenant.call("addaccount", {**NEW, "signature": "【甲\n公司】"})) == 232
    assert await tenant.get_account(shop.id) == before
    assert [row["accountid"] for row in (await listed(tenant))["list"]] == [str(shop.id)]


async def test_the_company_is_stored_without_invisible_characters(tenant: Tenant) -> None:
    result = ok(await tenant.call("addaccount", {**NEW, "company": "\u202e甲\u200b公司（北京）"}))
    assert result["company"] == "甲公司（北京）"  # full-width brackets as written
    assert (
        error(await tenant.call("addaccount", {**NEW, "signature": "【丙方】", "company": "\u200b\u2060"}))
        == 214
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(st.sampled_from("甲乙丙丁公司集团科技ABCxyz019·-&"), min_size=2, max_size=12),
    data=st.data(),
)
async def test_any_invisible_insertion_into_a_taken_signature_is_213(
    api: Api, tenant: Tenant, name: str, data: st.DataObject
) -> None:
    signature = f"【{name}】"
    owner = await api.customer()
    # Examples share the database: an earlier one may have taken the signature already.
    taken = await owner.call("addaccount", {**NEW, "signature": signature, "totalnum": "1"})
    assert taken["status"] in ("0", "213")
    dressed = sprinkled(signature, data, INVISIBLES)
    assert error(await tenant.call("addaccount", {**NEW, "signature": dressed, "totalnum": "1"})) == 213

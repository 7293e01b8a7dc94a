"""Template endpoints: addtemplate, edittemplate, templatelist, templatedetail (SPEC §4.7–4.10, §5.2)."""

from __future__ import annotations

import time
from typing import Any

from smsplatform.domain.templates import TemplateStatus
from smsplatform.store import schema, words
from smsplatform.store import templates as template_repo
from smsplatform.store.accounts import Account
from smsplatform.store.widths import width
from tests.api.conftest import MARKET, NOTIFY, SIGNATURE, Api, ApiFactory, Tenant, error, ok

SUMMARY_FIELDS = ["accountid", "name", "content", "templateid", "status", "ismarket"]
DETAIL_FIELDS = ["templateid", "name", "content", "ismarket", "status", "failreason", "addtime"]
LIST_FIELDS = ["total", "pagenum", "pagesize", "accountid", "totalnum", "usednum", "list"]
# A name takes as many characters as its column keeps; a content (kept as text of any length) is
# refused outright only beyond what any review could read, and rejected by review beyond 500.
NAME_WIDTH = width(schema.templates.c.name)
CONTENT_LIMIT = 2000


async def add(tenant: Tenant, account: Account, **params: str) -> dict[str, Any]:
    return await tenant.call("addtemplate", {"accountid": str(account.id), **params})


async def detail(tenant: Tenant, template_id: str) -> dict[str, Any]:
    result: dict[str, Any] = ok(await tenant.call("templatedetail", {"templateid": template_id}))
    return result


# --- addtemplate -------------------------------------------------------------------------------


async def test_addtemplate_answers_the_seeds_fields_and_waits_for_review(tenant: Tenant) -> None:
    account = await tenant.account()
    result = ok(await add(tenant, account, name="用户您好", content="用户您好。【测试公司】", ismarket="0"))
    assert list(result) == SUMMARY_FIELDS
    assert result == {
        "accountid": str(account.id),
        "name": "用户您好",
        "content": "用户您好。【测试公司】",
        "templateid": result["templateid"],
        "status": "0",
        "ismarket": "0",
    }
    assert result["templateid"].isdigit()


async def test_auto_approve_approves_templates_that_pass_the_checks(make_api: ApiFactory) -> None:
    api = await make_api(auto_approve=True)
    tenant = await api.customer()
    account = await tenant.account()
    assert ok(await add(tenant, account, name="a", content=NOTIFY, ismarket="0"))["status"] == "1"
    rejected = ok(await add(tenant, account, name="b", content="全场五折", ismarket="1"))
    assert rejected["status"] == "2"


async def test_ismarket_defaults_to_0(tenant: Tenant) -> None:
    account = await tenant.account()
    assert ok(await add(tenant, account, name="a", content=NOTIFY))["ismarket"] == "0"


async def test_automatic_review_rejects_with_a_reason(api: Api, tenant: Tenant) -> None:
    await api.write(words.add_words, ["赌博"])
    account = await tenant.account()
    cases = {
        "words": ("欢迎来赌博@", "0"),
        "optout": ("全场@折优惠", "1"),
        "twovars": ("您的验证码是@，编号@", "0"),
        "long": ("长" * 501, "0"),
    }
    for name, (content, ismarket) in cases.items():
        result = ok(await add(tenant, account, name=name, content=content, ismarket=ismarket))
        assert result["status"] == "2", name
        assert detail_reason(await detail(tenant, result["templateid"])), name
    passing = ok(await add(tenant, account, name="ok", content=MARKET, ismarket="1"))
    assert passing["status"] == "0"
    also = ok(await add(tenant, account, name="r", content="新品上市@，拒收请回复R", ismarket="1"))
    assert also["status"] == "0"


def detail_reason(result: dict[str, Any]) -> str:
    assert result["status"] == "2"
    reason: str = result["failreason"]
    return reason


async def test_addtemplate_refusals(tenant: Tenant) -> None:
    account = await tenant.account()
    good = {"name": "n", "content": NOTIFY, "ismarket": "0"}
    for params, code in (
        ({**good, "name": ""}, 217),
        ({**good, "name": "   "}, 217),
        ({"content": NOTIFY}, 217),
        ({**good, "content": ""}, 222),
        ({"name": "n"}, 222),
        ({**good, "ismarket": "2"}, 232),
        ({**good, "ismarket": "yes"}, 232),
        ({**good, "name": "名" * (NAME_WIDTH + 1)}, 232),
        ({**good, "content": "长" * (CONTENT_LIMIT + 1)}, 232),
    ):
        assert error(await add(tenant, account, **params)) == code, params
    for params, code in (({}, 218), ({"accountid": ""}, 218), ({"accountid": "424242"}, 219)):
        assert error(await tenant.call("addtemplate", {**good, **params})) == code, params
    assert ok(await tenant.call("templatelist", {"accountid": str(account.id)}))["total"] == "0"


async def test_a_name_and_a_content_at_their_limits_are_taken(tenant: Tenant) -> None:
    account = await tenant.account()
    name, content = "名" * NAME_WIDTH, "长" * CONTENT_LIMIT
    params = {"accountid": str(account.id), "name": name, "content": content}
    result = ok(await tenant.call("addtemplate", params, method="POST"))
    assert (result["name"], result["content"], result["status"]) == (name, content, "2")  # review: too long
    stored = await detail(tenant, result["templateid"])
    assert (stored["name"], stored["content"]) == (name, content)


async def test_edittemplate_takes_a_name_of_its_width_and_not_one_character_more(tenant: Tenant) -> None:
    account = await tenant.account()
    template = await tenant.template(account, NOTIFY, name="通知")
    base = {"accountid": str(account.id), "templateid": str(template.id)}
    longer = await tenant.call("edittemplate", {**base, "name": "称" * (NAME_WIDTH + 1)}, method="POST")
    assert error(longer) == 232
    assert (await detail(tenant, str(template.id)))["name"] == "通知"
    ok(await tenant.call("edittemplate", {**base, "name": "称" * NAME_WIDTH}, method="POST"))
    assert (await detail(tenant, str(template.id)))["name"] == "称" * NAME_WIDTH


async def test_template_names_are_unique_per_sub_account(tenant: Tenant) -> None:
    first, second = await tenant.account("【甲方】"), await tenant.account("【乙方】")
    ok(await add(tenant, first, name="通知", content=NOTIFY))
    assert error(await add(tenant, first, name="通知", content="另一个@")) == 221
    ok(await add(tenant, second, name="通知", content=NOTIFY))


async def test_template_text_is_stored_verbatim(tenant: Tenant) -> None:
    account = await tenant.account()
    name = "x'); DELETE FROM templates;--"
    content = "您好 @ ' OR 1=1 -- \" ; %_ \\"
    result = ok(await add(tenant, account, name=name, content=content))
    assert (result["name"], result["content"]) == (name, content)
    assert (await detail(tenant, result["templateid"]))["content"] == content


# --- edittemplate ------------------------------------------------------------------------------


async def test_edittemplate_goes_back_to_review_and_keeps_what_was_left_out(tenant: Tenant) -> None:
    account = await tenant.account()
    template = await tenant.template(account, NOTIFY, name="通知", ismarket=0)
    result = ok(
        await tenant.call(
            "edittemplate",
            {"accountid": str(account.id), "templateid": str(template.id), "content": "您的包裹@已到"},
        )
    )
    assert list(result) == SUMMARY_FIELDS
    assert result == {
        "accountid": str(account.id),
        "name": "通知",
        "content": "您的包裹@已到",
        "templateid": str(template.id),
        "status": "0",
        "ismarket": "0",
    }
    # The old text no longer sends; the new one waits for review.
    assert error(await tenant.send("13800138000", "您的订单8已发货，请注意查收" + SIGNATURE)) == 207
    assert error(await tenant.send("13800138000", "您的包裹8已到" + SIGNATURE)) == 208


async def test_edittemplate_refusals(api: Api, tenant: Tenant) -> None:
    account, sibling = await tenant.account("【甲方】"), await tenant.account("【乙方】")
    template = await tenant.template(account, NOTIFY, name="通知")
    await tenant.template(account, "另一个@", name="另一个")
    siblings = await tenant.template(sibling, NOTIFY, name="通知")
    stranger = await api.customer()
    foreign = await stranger.template(await stranger.account("【丙方】"), NOTIFY, name="通知")
    base = {"accountid": str(account.id), "templateid": str(template.id)}
    for params, code in (
        ({**base, "accountid": ""}, 218),
        ({**base, "accountid": str(sibling.id + 100)}, 219),
        ({**base, "templateid": ""}, 207),
        ({**base, "templateid": "x"}, 207),
        ({**base, "templateid": "999999"}, 207),
        ({**base, "templateid": str(siblings.id)}, 207),
        ({**base, "templateid": str(foreign.id)}, 207),
        ({**base, "name": "另一个"}, 221),
        ({**base, "name": ""}, 217),
        ({**base, "content": ""}, 222),
        ({**base, "ismarket": "3"}, 232),
    ):
        assert error(await tenant.call("edittemplate", params)) == code, params
    assert await api.read(template_repo.get_template, template.id) == template
    assert await api.read(template_repo.get_template, foreign.id) == foreign


# --- templatelist and templatedetail -----------------------------------------------------------


async def test_templatelist_with_the_seeds_fields(tenant: Tenant) -> None:
    before = int(time.time())
    account = await tenant.account(totalnum=10)
    first = await tenant.template(account, NOTIFY, name="通知")
    second = await tenant.template(account, MARKET, name="营销", ismarket=1, status=TemplateStatus.REJECTED)
    result = ok(await tenant.call("templatelist", {"accountid": str(account.id)}))
    assert list(result) == LIST_FIELDS
    assert {k: result[k] for k in LIST_FIELDS[:-1]} == {
        "total": "2",
        "pagenum": "1",
        "pagesize": "20",
        "accountid": str(account.id),
        "totalnum": "10",
        "usednum": "0",
    }
    rows = result["list"]
    assert all(list(row) == DETAIL_FIELDS for row in rows)
    assert [(r["templateid"], r["name"], r["ismarket"], r["status"]) for r in rows] == [
        (str(first.id), "通知", "0", "1"),
        (str(second.id), "营销", "1", "2"),
    ]
    assert (rows[0]["failreason"], rows[1]["failreason"]) == ("", "不符合规范")
    assert all(before <= int(r["addtime"]) <= time.time() + 1 for r in rows)


async def test_templatelist_pages_and_shows_fresh_quota(tenant: Tenant, shop: Account) -> None:
    ok(await tenant.send("13800138000", "您的订单8已发货，请注意查收" + SIGNATURE))
    page = ok(await tenant.call("templatelist", {"accountid": str(shop.id), "pagenum": "2", "pagesize": "2"}))
    assert (page["total"], page["pagenum"], page["pagesize"], page["usednum"]) == ("3", "2", "2", "1")
    assert len(page["list"]) == 1


async def test_templatelist_needs_one_of_the_customers_accounts(api: Api, tenant: Tenant) -> None:
    stranger = await api.customer()
    theirs = await stranger.account("【别人公司】")
    assert error(await tenant.call("templatelist")) == 218
    assert error(await tenant.call("templatelist", {"accountid": str(theirs.id)})) == 219
    assert error(await tenant.call("templatelist", {"accountid": "abc"})) == 219


async def test_templatedetail_with_the_seeds_fields(tenant: Tenant) -> None:
    account = await tenant.account()
    template = await tenant.template(account, "用户您好。【测试公司】", name="用户您好")
    result = await detail(tenant, str(template.id))
    assert list(result) == DETAIL_FIELDS
    assert result == {
        "templateid": str(template.id),
        "name": "用户您好",
        "content": "用户您好。【测试公司】",
        "ismarket": "0",
        "status": "1",
        "failreason": "",
        "addtime": str(template.addtime),
    }


async def test_templatedetail_of_what_is_not_the_customers_is_207(api: Api, tenant: Tenant) -> None:
    stranger = await api.customer()
    foreign = await stranger.template(await stranger.account("【别人公司】"), NOTIFY)
    absent = await api.client.get(
        "/sms/templatedetail", params={"appkey": tenant.appkey, "templateid": str(foreign.id + 100)}
    )
    theirs = await api.client.get(
        "/sms/templatedetail", params={"appkey": tenant.appkey, "templateid": str(foreign.id)}
    )
    assert theirs.content == absent.content
    assert error(theirs.json()) == 207
    for bad in ("", "x", "-1", "1" * 13):
        assert error(await tenant.call("templatedetail", {"templateid": bad})) == 207, bad


async def test_a_client_fills_a_fetched_template_and_sends_it(tenant: Tenant) -> None:
    account = await tenant.account()
    added = ok(await add(tenant, account, name="验证", content="您的验证码是@。【测试公司】"))
    await tenant.api.write(template_repo.review_template, int(added["templateid"]), approve=True)
    fetched = await detail(tenant, added["templateid"])
    sent = ok(await tenant.send("13800138000", fetched["content"].replace("@", "385912")))
    assert sent["count"] == "1"


# --- control and invisible characters, look-alike words ----------------------------------------


async def test_control_characters_in_a_template_are_232_but_line_breaks_pass(tenant: Tenant) -> None:
    account = await tenant.account()
    for control in ("\x00", "\x07", "\t", "\x1b", "\x7f", "\x9f"):
        for params in (
            {"name": "n", "content": f"您的订单@已{control}发货"},
            {"name": f"名{control}字", "content": NOTIFY},
        ):
            assert error(await add(tenant, account, **params)) == 232, ascii(params)
    result = ok(await add(tenant, account, name="lines", content="您的订单@已发货\n请注意查收\r\n谢谢"))
    assert (await detail(tenant, result["templateid"]))["content"] == "您的订单@已发货\n请注意查收\r\n谢谢"
    template = await tenant.template(account, NOTIFY, name="edit me")
    edit = {"accountid": str(account.id), "templateid": str(template.id), "content": "您的\x00订单@"}
    assert error(await tenant.call("edittemplate", edit)) == 232
    assert (await detail(tenant, str(template.id)))["content"] == NOTIFY


async def test_a_template_with_nothing_visible_is_empty(tenant: Tenant) -> None:
    account = await tenant.account()
    assert error(await add(tenant, account, name="n", content="\u200b\u2060\ufeff")) == 222


async def test_a_template_is_stored_as_written(tenant: Tenant) -> None:
    account = await tenant.account()
    content = "您的订单@已发货，请注意查收（ＡＢＣ）👨\u200d👩\u200d👧"
    result = ok(await add(tenant, account, name="n", content=content))
    assert (await detail(tenant, result["templateid"]))["content"] == content


async def test_review_sees_words_and_verification_codes_however_dressed(api: Api, tenant: Tenant) -> None:
    await api.write(words.add_words, ["赌博"])
    account = await tenant.account()
    for name, content in (
        ("traditional", "欢迎来賭博@"),
        ("spaced", "欢迎来赌 · 博@"),
        ("hidden", "欢迎来赌\u200b博@"),
    ):
        result = ok(await add(tenant, account, name=name, content=content))
        assert detail_reason(await detail(tenant, result["templateid"])) == "模板内容包含敏感词：赌博", name
    # A verification template behind an invisible character keeps the verification rule (one @).
    result = ok(await add(tenant, account, name="code", content="您的验\u200b证码是@，编号@"))
    assert detail_reason(await detail(tenant, result["templateid"])) == "验证码模板须有且仅有一个变量@"

"""`/sms/send`: signatures, templates, sensitive words, segments and fee, quota (SPEC §4.1, §5.1–5.4)."""

from __future__ import annotations

import asyncio
import time

from smsplatform.domain.templates import TemplateStatus
from smsplatform.store import accounts as account_repo
from smsplatform.store import words
from smsplatform.store.accounts import Account, AccountStatus
from tests.api.conftest import (
    MARKET,
    NOTIFY,
    SIGNATURE,
    VERIFY,
    Api,
    Tenant,
    error,
    filled,
    ok,
)

MOBILE = "13800138000"
TEXT = "您的订单8已发货，请注意查收"  # NOTIFY filled in


async def test_send_answers_count_accountid_msgid_fee(tenant: Tenant, shop: Account) -> None:
    before = int(time.time())
    result = ok(await tenant.send("13800138000,13900139000", filled(NOTIFY)))
    assert list(result) == ["count", "accountid", "msgid", "fee"]
    assert (result["count"], result["accountid"], result["fee"]) == ("2", str(shop.id), "2")
    stored = await tenant.api.messages()
    assert [(m["mobile"], m["state"], m["kind"], m["segments"]) for m in stored] == [
        ("13800138000", "queued", "notification", 1),
        ("13900139000", "queued", "notification", 1),
    ]
    assert {m["send_id"] for m in stored} == {int(result["msgid"])}
    assert all(m["account_id"] == shop.id and m["customer_id"] == tenant.customer.id for m in stored)
    assert all(m["content"] == filled(NOTIFY) for m in stored)
    assert all(before <= m["created_at"] <= time.time() + 1 for m in stored)
    assert (await tenant.get_account(shop.id)).usednum == 2


async def test_each_send_gets_its_own_msgid(tenant: Tenant, shop: Account) -> None:
    first = ok(await tenant.send("13800138001", filled(NOTIFY)))
    second = ok(await tenant.send("13800138002", filled(NOTIFY)))
    assert first["msgid"] != second["msgid"]


async def test_the_kind_of_the_matched_template_is_stored(tenant: Tenant, shop: Account) -> None:
    ok(await tenant.send("13800138001", filled(VERIFY, "385912")))
    ok(await tenant.send("13800138002", filled(MARKET)))
    ok(await tenant.send("13800138003", filled(NOTIFY)))
    kinds = [m["kind"] for m in await tenant.api.messages()]
    assert kinds == ["verification", "marketing", "notification"]


# --- signatures --------------------------------------------------------------------------------


async def test_signature_at_the_head_or_the_tail(tenant: Tenant, shop: Account) -> None:
    ok(await tenant.send("13800138001", SIGNATURE + TEXT))
    ok(await tenant.send("13800138002", TEXT + SIGNATURE))
    ok(await tenant.send("13800138003", f"  {SIGNATURE} {TEXT}  "))
    stored = [m["content"] for m in await tenant.api.messages()]
    assert stored == [SIGNATURE + TEXT, TEXT + SIGNATURE, f"{SIGNATURE} {TEXT}"]


async def test_signature_refusals(tenant: Tenant, shop: Account) -> None:
    for content, code in (
        (TEXT, 211),
        ("【测】" + TEXT, 212),
        (TEXT + "【" + "测" * 13 + "】", 212),
        ("【测试公司" + TEXT, 212),
        (TEXT + "测试公司】", 212),
        (TEXT + "【别的公司】", 205),
        ("【测试公司】", 203),
        ("   ", 203),
        ("", 203),
    ):
        assert error(await tenant.send(MOBILE, content)) == code, content
    assert await tenant.api.messages() == []


async def test_another_customers_signature_is_205(api: Api, tenant: Tenant, shop: Account) -> None:
    stranger = await api.customer()
    await stranger.account("【陌生人】")
    assert error(await stranger.send(MOBILE, filled(NOTIFY))) == 205
    assert error(await tenant.send(MOBILE, TEXT + "【陌生人】")) == 205


async def test_sub_account_status_decides(tenant: Tenant) -> None:
    for signature, status, code in (
        ("【审核中】", AccountStatus.PENDING, 206),
        ("【被拒绝】", AccountStatus.REJECTED, 226),
        ("【已停用】", AccountStatus.DISABLED, 238),
    ):
        account = await tenant.account(signature, status=status)
        await tenant.template(account, NOTIFY)
        assert error(await tenant.send(MOBILE, TEXT + signature)) == code, signature
    assert await tenant.api.messages() == []


async def test_different_signatures_in_one_request_is_223(tenant: Tenant, shop: Account) -> None:
    other = await tenant.account("【第二公司】")
    await tenant.template(other, NOTIFY)
    content = f"{TEXT}{SIGNATURE},,{TEXT}【第二公司】"
    assert error(await tenant.send("13800138001,13800138002", content)) == 223
    assert await tenant.api.messages() == []


# --- templates ---------------------------------------------------------------------------------


async def test_each_at_takes_1_to_20_characters_without_line_break(tenant: Tenant, shop: Account) -> None:
    template = "尊敬的@，您的订单@已发货"
    await tenant.template(shop, template)
    for values, code in (
        (("张", "1"), 0),
        (("张" * 20, "1" * 20), 0),
        (("张" * 21, "1"), 207),
        (("", "1"), 207),
        (("张\n三", "1"), 207),
        (("张三", ""), 207),
    ):
        content = "尊敬的{}，您的订单{}已发货".format(*values) + SIGNATURE
        assert int((await tenant.send(f"138{len(values[0]):08d}", content))["status"]) == code, values


async def test_template_review_status_decides(tenant: Tenant) -> None:
    account = await tenant.account()
    await tenant.template(account, "待审模板@", status=TemplateStatus.PENDING)
    await tenant.template(account, "被拒模板@", status=TemplateStatus.REJECTED)
    assert error(await tenant.send(MOBILE, "待审模板1" + SIGNATURE)) == 208
    assert error(await tenant.send(MOBILE, "被拒模板1" + SIGNATURE)) == 225
    assert error(await tenant.send(MOBILE, "没有模板" + SIGNATURE)) == 207
    assert await tenant.api.messages() == []


async def test_an_approved_template_wins_over_a_pending_one_of_the_same_text(tenant: Tenant) -> None:
    account = await tenant.account()
    await tenant.template(account, "您好@", status=TemplateStatus.PENDING, name="a")
    await tenant.template(account, "您好@", status=TemplateStatus.APPROVED, name="b")
    assert ok(await tenant.send(MOBILE, "您好张三" + SIGNATURE))["count"] == "1"


async def test_a_template_carrying_the_signature_matches_the_signed_text(tenant: Tenant) -> None:
    account = await tenant.account("【进制数据】")
    await tenant.template(account, "用户您好。【进制数据】")
    ok(await tenant.send("13556811111,13556811112", "用户您好。【进制数据】"))
    ok(await tenant.send("13556811113", "【进制数据】用户您好。"))


async def test_templates_of_another_sub_account_do_not_count(tenant: Tenant, shop: Account) -> None:
    other = await tenant.account("【第二公司】")
    await tenant.template(other, "只属于第二公司的模板")
    assert error(await tenant.send(MOBILE, "只属于第二公司的模板" + SIGNATURE)) == 207


async def test_template_exempt_sub_account_sends_any_text(tenant: Tenant) -> None:
    await tenant.account(exempt=True)
    ok(await tenant.send("13800138001", "任意内容，无需模板" + SIGNATURE))
    ok(await tenant.send("13800138002", "您的验证码是1234" + SIGNATURE))
    ok(await tenant.send("13800138003", "大促销，回TD退订" + SIGNATURE))
    kinds = [m["kind"] for m in await tenant.api.messages()]
    assert kinds == ["notification", "verification", "marketing"]


async def test_exemption_can_be_taken_back(tenant: Tenant) -> None:
    account = await tenant.account(exempt=True)
    ok(await tenant.send(MOBILE, "任意内容" + SIGNATURE))
    await tenant.api.write(account_repo.set_template_exempt, account.id, False)
    assert error(await tenant.send(MOBILE, "任意内容" + SIGNATURE)) == 207


# --- sensitive words ---------------------------------------------------------------------------


async def test_sensitive_words_in_any_width_or_case_are_204(api: Api, tenant: Tenant) -> None:
    await tenant.account(exempt=True)
    await api.write(words.add_words, ["VPN", "代开发票"])
    for text in ("翻墙VPN", "翻墙vpn", "翻墙ＶＰＮ", "翻墙ｖｐｎ", "专业代开发票", "vPn在此", "V P N 也算"):
        assert error(await tenant.send(MOBILE, text + SIGNATURE)) == 204, text
    assert await api.messages() == []
    assert (await tenant.call("balance"))["result"][0]["usednum"] == "0"
    ok(await tenant.send(MOBILE, "VIP 会员不算" + SIGNATURE))


async def test_a_sensitive_word_inside_a_variable_is_204(api: Api, tenant: Tenant, shop: Account) -> None:
    await api.write(words.add_words, ["赌博"])
    assert error(await tenant.send(MOBILE, filled(NOTIFY, "赌博"))) == 204


async def test_a_word_removed_is_allowed_again(api: Api, tenant: Tenant) -> None:
    await tenant.account(exempt=True)
    await api.write(words.add_words, ["违禁"])
    assert error(await tenant.send(MOBILE, "违禁品" + SIGNATURE)) == 204
    await api.write(words.remove_words, ["违禁"])
    ok(await tenant.send(MOBILE, "违禁品" + SIGNATURE))


# --- segments and fee --------------------------------------------------------------------------


async def test_segments_and_fee_count_the_signature(tenant: Tenant) -> None:
    account = await tenant.account(exempt=True)
    overhead = len(SIGNATURE)  # 【测试公司】 is 6 characters
    for total, segments in ((70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)):
        text = "字" * (total - overhead)
        result = ok(await tenant.send(f"1380000{total:04d}", text + SIGNATURE))
        assert result["fee"] == str(segments), total
    stored = [m["segments"] for m in await tenant.api.messages()]
    assert stored == [1, 2, 2, 3, 3, 4]
    assert (await tenant.get_account(account.id)).usednum == sum(stored)


async def test_an_emoji_counts_as_one_character(tenant: Tenant) -> None:
    await tenant.account(exempt=True)
    text = "a" * 63 + "😀"  # 64 characters + 6 of signature = 70: one SMS (71 if counted in UTF-16)
    assert ok(await tenant.send(MOBILE, text + SIGNATURE))["fee"] == "1"
    assert ok(await tenant.send("13800138001", "😀" * 65 + SIGNATURE))["fee"] == "2"


async def test_fee_is_segments_times_numbers(tenant: Tenant) -> None:
    account = await tenant.account(exempt=True)
    result = ok(await tenant.send("13800138001,13800138002,13800138003", "长" * 100 + SIGNATURE))
    assert (result["count"], result["fee"]) == ("3", "6")
    assert (await tenant.get_account(account.id)).usednum == 6


async def test_content_longer_than_any_template_allows_is_237(tenant: Tenant) -> None:
    await tenant.account(exempt=True)
    assert error(await tenant.send(MOBILE, "长" * 600 + SIGNATURE)) == 237
    ok(await tenant.send(MOBILE, "长" * 594 + SIGNATURE))


# --- quota -------------------------------------------------------------------------------------


async def test_quota_is_debited_up_to_the_last_message(tenant: Tenant) -> None:
    account = await tenant.shop(totalnum=3)
    ok(await tenant.send("13800138001,13800138002", filled(NOTIFY)))
    ok(await tenant.send("13800138003", filled(NOTIFY)))
    assert (await tenant.get_account(account.id)).usednum == 3
    assert error(await tenant.send("13800138004", filled(NOTIFY))) == 209
    assert len(await tenant.api.messages()) == 3


async def test_209_stores_nothing_and_debits_nothing(tenant: Tenant) -> None:
    account = await tenant.account(totalnum=3, exempt=True)
    ok(await tenant.send("13800138001", "短" + SIGNATURE))
    # Two numbers of two segments each: 4 > 2 left.
    assert error(await tenant.send("13800138002,13800138003", "长" * 100 + SIGNATURE)) == 209
    assert (await tenant.get_account(account.id)).usednum == 1
    assert [m["mobile"] for m in await tenant.api.messages()] == ["13800138001"]
    assert len(await tenant.api.sends()) == 1
    balance = ok(await tenant.call("balance"))
    assert (balance[0]["totalnum"], balance[0]["usednum"]) == ("3", "1")


async def test_a_refused_send_does_not_use_up_the_frequency_limits(tenant: Tenant) -> None:
    account = await tenant.shop(totalnum=1)
    for _ in range(3):
        assert error(await tenant.send("13800138001,13800138002", filled(VERIFY))) == 209
    ok(await tenant.call("editaccount", {"accountid": str(account.id), "totalnum": "10"}))
    for _ in range(4):  # verification: 4 a minute, none spent by the refused sends
        ok(await tenant.send("13800138001", filled(VERIFY)))


async def test_quota_belongs_to_the_sub_account(tenant: Tenant) -> None:
    poor = await tenant.account("【没钱公司】", totalnum=1, exempt=True)
    rich = await tenant.account("【有钱公司】", totalnum=100, exempt=True)
    ok(await tenant.send("13800138001", "通知" + poor.signature))
    assert error(await tenant.send("13800138002", "通知" + poor.signature)) == 209
    ok(await tenant.send("13800138002", "通知" + rich.signature))


async def test_concurrent_sends_of_two_sub_accounts_stop_each_at_its_own_quota(tenant: Tenant) -> None:
    # Sends arriving together are accepted together: each is still judged on its sub-account's balance
    # as the ones before it left it.
    small = await tenant.account("【小号公司】", totalnum=5, exempt=True)
    large = await tenant.account("【大号公司】", totalnum=12, exempt=True)
    wanted = [(f"1380013{n:04d}", small if n % 2 else large) for n in range(30)]
    answers = await asyncio.gather(*(tenant.send(mobile, "通知" + a.signature) for mobile, a in wanted))
    accepted = [ok(answer) for answer in answers if answer["status"] == "0"]
    assert {error(answer) for answer in answers if answer["status"] != "0"} == {209}
    assert sorted(a["accountid"] for a in accepted) == [str(small.id)] * 5 + [str(large.id)] * 12
    assert len({a["msgid"] for a in accepted}) == 17
    assert [(await tenant.get_account(a.id)).usednum for a in (small, large)] == [5, 12]
    stored = await tenant.api.messages()
    assert sorted((str(m["send_id"]), str(m["account_id"])) for m in stored) == sorted(
        (a["msgid"], a["accountid"]) for a in accepted
    )
    sends = await tenant.api.sends()
    assert sorted(str(s["id"]) for s in sends) == sorted(a["msgid"] for a in accepted)


async def test_sql_metacharacters_in_content_are_sent_verbatim(tenant: Tenant) -> None:
    await tenant.account(exempt=True)
    text = "'); DROP TABLE messages; -- \" OR 1=1 %_ \\"
    ok(await tenant.send(MOBILE, text + SIGNATURE))
    assert [m["content"] for m in await tenant.api.messages()] == [text + SIGNATURE]

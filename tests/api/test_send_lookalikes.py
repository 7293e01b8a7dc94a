"""`/sms/send` with look-alike texts: a signature with invisible characters or in full-width finds its
sub-account; words with spaces, punctuation, invisible or traditional characters slipped in are 204;
templates match in canonical form on both sides; what is sent is the content as written."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smsplatform.admin import words as word_ops
from smsplatform.admin.actors import cli_actor
from smsplatform.store.accounts import Account
from tests.api.conftest import NOTIFY, VERIFY, Api, Tenant, error, ok
from tests.domain.lookalikes import FILLER, INVISIBLES, sprinkled

MOBILE = "13800138000"
TEXT = "您的订单8已发货，请注意查收"  # NOTIFY filled in
ROOT = cli_actor("root")
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


async def sent_contents(api: Api) -> list[str]:
    return [m["content"] for m in await api.messages()]


# --- signatures ----------------------------------------------------------------------------------


async def test_a_signature_with_invisible_characters_finds_its_sub_account(
    tenant: Tenant, shop: Account
) -> None:
    contents = [
        "【测试公司\u200b】" + TEXT,
        "【测\u00ad试\u2060公司\ufeff】" + TEXT,
        "\ufeff【测试公司】" + TEXT,  # a client's BOM
        TEXT + "【\u200d测试公司】\u200b",
    ]
    for index, content in enumerate(contents):
        result = ok(await tenant.send(f"1380013800{index}", content))
        assert result["accountid"] == str(shop.id)
    # Sent as written, without the invisible characters in and around the signature.
    assert await sent_contents(tenant.api) == ["【测试公司】" + TEXT] * 3 + [TEXT + "【测试公司】"]


async def test_a_full_width_signature_finds_its_sub_account_and_is_sent_as_written(tenant: Tenant) -> None:
    account = await tenant.account("【AB公司】")
    await tenant.template(account, NOTIFY)
    assert ok(await tenant.send(MOBILE, "【ＡＢ公司】" + TEXT))["accountid"] == str(account.id)
    # The full-width comma of the text stays too: only the lookup is canonical.
    assert await sent_contents(tenant.api) == ["【ＡＢ公司】" + TEXT]


async def test_look_alike_signatures_in_one_request_are_one(tenant: Tenant, shop: Account) -> None:
    content = f"【测试公司\u200b】{TEXT},,{TEXT}【测试公司】"
    assert ok(await tenant.send("13800138001,13800138002", content))["count"] == "2"


async def test_a_bidi_reversed_signature_is_the_name_it_spells(
    api: Api, tenant: Tenant, shop: Account
) -> None:
    # Displayed as 【测试公司】, it spells 【司公试测】: not the shop's, and never stored with the override.
    assert error(await tenant.send(MOBILE, "【\u202e司公试测】" + TEXT)) == 205
    other = await api.customer()
    account = await other.account("【司公试测】")
    await other.template(account, NOTIFY)
    assert ok(await other.send(MOBILE, "【\u202e司公试测】" + TEXT))["accountid"] == str(account.id)
    assert await sent_contents(api) == ["【司公试测】" + TEXT]


async def test_whitespace_or_a_control_character_in_a_signature(tenant: Tenant, shop: Account) -> None:
    for content, code in (
        ("【测试公司 】" + TEXT, 212),
        (TEXT + "【测试 公司】", 212),
        ("【测试\u3000公司】" + TEXT, 212),
        ("【测试公司\x00】" + TEXT, 232),
        (TEXT + "【测\x1b试公司】", 232),
        ("\u200b" + TEXT, 211),
    ):
        assert error(await tenant.send(MOBILE, content)) == code, ascii(content)
    assert await tenant.api.messages() == []


@PROPERTY
@given(data=st.data())
async def test_any_invisible_insertion_into_the_signature_finds_the_sub_account(
    tenant: Tenant, shop: Account, data: st.DataObject
) -> None:
    dressed = sprinkled("【测试公司】", data, INVISIBLES, inside_only=True)
    at_head = data.draw(st.booleans())
    result = ok(
        await tenant.send(MOBILE if at_head else "13900139000", dressed + TEXT if at_head else TEXT + dressed)
    )
    assert result["accountid"] == str(shop.id)


# --- sensitive words -----------------------------------------------------------------------------


async def test_the_brief_s_evasions_are_204(api: Api, tenant: Tenant, free: Account) -> None:
    await api.write(word_ops.add_words, ROOT, ["代开发票", "赌博"])
    for text in ("代\u200b开发票", "赌\u00ad博", "赌\ufeff博", "代 开发票", "賭博", "代開·發票", "赌，博"):
        assert error(await tenant.send(MOBILE, f"专业{text}【测试公司】")) == 204, ascii(text)
    assert await api.messages() == []
    ok(await tenant.send(MOBILE, "您的发票已开具，请查收【测试公司】"))


SIMPLIFIED_TRADITIONAL = [
    ("赌博", "賭博"),
    ("代开发票", "代開發票"),
    ("枪支弹药", "槍支彈藥"),
    ("网络赌场", "網絡賭場"),
]


@PROPERTY
@given(pair=st.sampled_from(SIMPLIFIED_TRADITIONAL), list_simplified=st.booleans(), data=st.data())
async def test_no_insertion_into_a_listed_word_escapes_the_filter(
    api: Api, tenant: Tenant, free: Account, pair: tuple[str, str], list_simplified: bool, data: st.DataObject
) -> None:
    simplified, traditional = pair
    listed = simplified if list_simplified else traditional
    await api.write(word_ops.add_words, ROOT, [listed])
    for form in (simplified, traditional):
        dressed = sprinkled(form, data, FILLER, inside_only=True)
        assume(",," not in dressed)  # that would be one text per number
        assert error(await tenant.send(MOBILE, f"您好{dressed}，再见【测试公司】")) == 204, ascii(dressed)
    await api.write(word_ops.remove_words, ROOT, [listed])


# --- templates -----------------------------------------------------------------------------------


async def test_a_template_stored_with_invisible_characters_matches_sends_without(
    tenant: Tenant,
) -> None:
    account = await tenant.account()
    await tenant.template(account, "您的订单@已\u200b发货，\u2060请注意查收")
    ok(await tenant.send(MOBILE, TEXT + "【测试公司】"))


async def test_invisible_characters_in_a_send_do_not_change_the_template_it_fits(
    tenant: Tenant, shop: Account
) -> None:
    ok(await tenant.send(MOBILE, "您的订单8已发\u200b货，请注意\u00ad查收【测试公司】"))
    # Half-width punctuation is the same text as full-width.
    ok(await tenant.send("13800138001", "您的订单8已发货,请注意查收【测试公司】"))
    # A variable needs a visible character; invisible ones do not count towards its 20.
    assert error(await tenant.send(MOBILE, "您的订单\u200b已发货，请注意查收【测试公司】")) == 207
    assert (
        error(await tenant.send(MOBILE, "您的订单" + "1\u200b" * 21 + "已发货，请注意查收【测试公司】"))
        == 207
    )
    ok(await tenant.send("13800138002", "您的订单" + "1\u200b" * 20 + "已发货，请注意查收【测试公司】"))
    # Nothing visible after the signature is an empty content.
    assert error(await tenant.send(MOBILE, "【测试公司】\u200b\u2060")) == 203


async def test_a_verification_code_behind_an_invisible_character_is_still_verification(
    tenant: Tenant, shop: Account
) -> None:
    ok(
        await tenant.send(
            MOBILE, VERIFY.replace("@", "1234").replace("验证码", "验\u200b证码") + "【测试公司】"
        )
    )
    assert [m["kind"] for m in await tenant.api.messages()] == ["verification"]

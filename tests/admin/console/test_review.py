"""Review in the console: the queue with the checks' findings, one decision in place (htmx) or by a
plain form, many at once with checkboxes, a rejection only with a reason (both backends)."""

from __future__ import annotations

from smsplatform.admin import templates
from smsplatform.store.database import Database
from tests.admin.console.conftest import ROOT, Browser, World


def template_status(db: Database, template_id: int) -> tuple[str, str]:
    with db.engine.begin() as conn:
        found = templates.get_template(conn, ROOT, template_id)
    return found.status, found.failreason


async def test_the_queue_shows_what_waits_with_names_and_findings(reviewer: Browser, world: World) -> None:
    page = await reviewer.get("/review")
    assert page.status_code == 200
    assert f'id="template-{world.pending_template}"' in page.text
    assert f'id="template-{world.approved_template}"' not in page.text
    assert "Acme" in page.text and "【阿克米】" in page.text  # names beside ids
    assert 'id="account-12"' in page.text and 'id="account-21"' in page.text


async def test_a_reviewer_approves_a_template_in_place(reviewer: Browser, world: World, db: Database) -> None:
    await reviewer.get("/review")
    answer = await reviewer.client.post(
        f"/review/templates/{world.pending_template}/approve",
        headers={"HX-Request": "true", "X-CSRF-Token": reviewer.csrf},
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith(f'<tr id="template-{world.pending_template}" class="row-done">')
    assert template_status(db, world.pending_template)[0] == "approved"
    again = await reviewer.client.post(
        f"/review/templates/{world.pending_template}/approve",
        headers={"HX-Request": "true", "X-CSRF-Token": reviewer.csrf},
    )
    assert again.status_code == 409 and again.headers["HX-Retarget"] == "#flash"


async def test_a_rejection_needs_a_reason_which_the_customer_reads(
    admin: Browser, world: World, db: Database
) -> None:
    await admin.get("/review")
    refused = await admin.post(f"/review/templates/{world.pending_template}/reject", {"reason": " "})
    assert refused.status_code == 400
    assert template_status(db, world.pending_template)[0] == "pending"
    answer = await admin.post(
        f"/review/templates/{world.pending_template}/reject", {"reason": "含有诱导内容"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    assert template_status(db, world.pending_template) == ("rejected", "含有诱导内容")
    assert "1 rejected" in (await admin.get("/review")).text


async def test_many_are_decided_at_once(admin: Browser, world: World, db: Database) -> None:
    await admin.get("/review")
    answer = await admin.client.post(
        "/review/accounts/bulk", data={"csrf": admin.csrf, "id": ["12", "21"], "decision": "approve"}
    )
    assert answer.status_code == 303
    page = await admin.get("/review")
    assert "2 approved" in page.text and 'id="account-12"' not in page.text
    nothing = await admin.post("/review/templates/bulk", {"decision": "approve"})
    assert nothing.status_code == 400


async def test_unknown_subjects_and_decisions_are_not_found(admin: Browser, world: World) -> None:
    await admin.get("/review")
    assert (await admin.post("/review/customers/1/approve")).status_code == 404
    assert (await admin.post(f"/review/templates/{world.pending_template}/delete")).status_code == 404

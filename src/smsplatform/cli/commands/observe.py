"""message, stats, callback and reply: what happened to the messages, and the receivers of callbacks."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import sqlalchemy as sa

from smsplatform.admin import dashboard, messages, receivers, replies
from smsplatform.admin.actors import Actor
from smsplatform.admin.dashboard import Breakdown, Overview, Series, WindowFigures
from smsplatform.cli.arguments import carrier, positive_int, since, until
from smsplatform.cli.commands import Registry
from smsplatform.cli.output import Shown, local_time
from smsplatform.cli.runner import Operations
from smsplatform.store.clock import now
from smsplatform.store.search import MESSAGE_STATES

MESSAGE_COLUMNS = (
    "id",
    "msgid",
    "created_at",
    "customer",
    "signature",
    "mobile",
    "carrier",
    "connector",
    "state",
    "stat",
    "content",
)


def _named(name: str, id_: int | None) -> str:
    if id_ is None:
        return ""
    return f"{name} ({id_})" if name else str(id_)


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "msgid": args.msgid,
        "mobile": args.mobile,
        "customer_id": args.customer,
        "account_id": args.account,
        "carrier": args.carrier,
        "connector": args.connector,
        "state": args.state,
        "since": args.since,
        "until": args.until,
    }


def _next_page(next_before: int | str | None, flag: str) -> str:
    return f"\nmore: the same search with {flag} {next_before}" if next_before is not None else ""


def message_search(args: argparse.Namespace, ops: Operations) -> Any:
    page = ops.read(messages.search, **_filters(args), limit=args.limit, before_id=args.before_id)
    if args.json:
        return page
    rows = [
        {
            "id": r.id,
            "msgid": r.msgid,
            "created_at": r.created_at,
            "customer": _named(r.customer_name, r.customer_id),
            "signature": r.account_signature,
            "mobile": r.mobile,
            "carrier": r.carrier,
            "connector": r.connector,
            "state": r.state,
            "stat": r.stat,
            "content": r.preview,
        }
        for r in page.rows
    ]
    return Shown(rows, MESSAGE_COLUMNS, note=_next_page(page.next_before_id, "--before-id"))


def message_show(args: argparse.Namespace, ops: Operations) -> Any:
    found = ops.read(messages.show, args.id)
    if args.json:
        return found
    record = {
        "id": found.id,
        "msgid": found.msgid,
        "customer": _named(found.customer_name, found.customer_id),
        "account": _named(f"{found.account_signature} {found.account_company}".strip(), found.account_id),
        "mobile": found.mobile,
        "carrier": found.carrier,
        "kind": found.kind,
        "segments": found.segments,
        "fee": found.fee,
        "state": found.state,
        "stat": found.stat,
        "errcode": found.errcode,
        "connector": found.connector,
        "attempts": found.attempts,
        "maybe_sent": found.maybe_sent,
        "created_at": found.created_at,
        "submitted_at": found.submitted_at,
        "done_at": found.done_at,
        "content": found.content,
    }
    return Shown(
        None,
        sections={
            "message": Shown(record),
            "timeline": Shown(found.timeline, ("at", "event", "detail"), title="timeline:"),
            "parts": Shown(found.parts, ("part", "connector", "remote_id", "stat", "err"), title="parts:"),
            "callbacks": Shown(
                found.callbacks,
                ("id", "state", "attempts", "created_at", "done_at", "next_attempt_at", "last_error"),
                title="status report callbacks:",
            ),
        },
    )


def message_export(args: argparse.Namespace, ops: Operations) -> None:
    def export(conn: sa.Connection, actor: Actor) -> None:
        lines = messages.export_csv(conn, actor, **_filters(args), max_rows=args.max_rows)
        for line in lines:
            sys.stdout.write(line)
        sys.stdout.flush()

    ops.read(export)


# --- stats ---------------------------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    # The store keeps times to the second: below one, a figure would only be the interpolation.
    return "< 1 s" if value < 1000 else f"{value / 1000:,.1f} s"


def _figures(label: str, w: WindowFigures | Breakdown) -> dict[str, Any]:
    return {
        "": label,
        "accepted": w.accepted,
        "submitted": w.submitted,
        "delivered": w.delivered,
        "failed": w.failed,
        "delivery_rate": _percent(w.delivery_rate),
        "median_submit": _ms(w.median_submit_ms),
        "median_report": _ms(w.median_report_ms),
    }


def _stats(overview: Overview, series: Series) -> Shown:
    today, hour = overview.today, overview.last_hour
    windows = [_figures("today", today), _figures("last hour", hour)]
    for row, w in zip(windows, (today, hour), strict=True):
        row["pending"] = w.pending
    queue, backlog = overview.queue, overview.callbacks
    links_now = f"{overview.links_up} up, {overview.links_down} down, {overview.links_stopped} stopped"
    callbacks_now = (
        f"{backlog.pending} pending, {backlog.failing} failing at {backlog.failing_receivers} receiver(s)"
    )
    step = {60: "%H:%M", 3600: "%m-%d %H:00", 86400: "%Y-%m-%d"}.get(series.period, "%Y-%m-%d %H:%M")
    points = [
        {
            "start": _strftime(step, p.start),
            "accepted": p.accepted,
            "submitted": p.submitted,
            "delivered": p.delivered,
            "failed": p.failed,
            "delivery_rate": _percent(p.delivery_rate),
        }
        for p in series.total
    ]
    links = [
        {"name": link.name, "state": link.state, "since": link.since, "last_error": link.last_error}
        for link in overview.links
    ]
    return Shown(
        None,
        sections={
            "windows": Shown(windows, title=f"as of {local_time(overview.at)}:"),
            "carriers": Shown([_figures(b.name, b) for b in today.by_carrier], title="today by carrier:"),
            "connectors": Shown(
                [_figures(b.name or "(none yet)", b) for b in today.by_connector], title="today by connector:"
            ),
            "queue": Shown(
                {
                    "queued": queue.queued,
                    "submitting": queue.submitting,
                    "awaiting_report": queue.awaiting_report,
                    "links": links_now,
                    "callbacks": callbacks_now,
                },
                title="now:",
            ),
            "links": Shown(links, title="links:"),
            "series": Shown(points, title=f"the last {series.window}:"),
        },
    )


def _strftime(pattern: str, seconds: int) -> str:
    return time.strftime(pattern, time.localtime(seconds))


def stats(args: argparse.Namespace, ops: Operations) -> Any:
    at = now()

    def read(conn: sa.Connection, actor: Actor) -> tuple[Overview, Series]:
        return (
            dashboard.overview(conn, actor, now=at),
            dashboard.series(conn, actor, window=args.period, now=at, by=args.by),
        )

    overview, series = ops.read(read)
    if args.json:
        return {"overview": overview, "series": series}
    return _stats(overview, series)


# --- callbacks and replies -----------------------------------------------------------------------

RECEIVER_COLUMNS = (
    "account",
    "customer",
    "kind",
    "host",
    "backlog",
    "failing",
    "oldest_pending_at",
    "next_attempt_at",
    "attempts",
    "last_error",
)


def callback_list(args: argparse.Namespace, ops: Operations) -> Any:
    def read(conn: sa.Connection, actor: Actor) -> tuple[receivers.Backlog, list[receivers.ReceiverHealth]]:
        return receivers.backlog(conn, actor), receivers.failing(conn, actor)

    backlog, failing = ops.read(read)
    if args.json:
        return failing if args.failing else {"backlog": backlog, "failing": failing}
    rows = [
        {
            "account": _named(r.account_signature, r.account_id),
            "customer": _named(r.customer_name, r.customer_id),
            "kind": r.kind,
            "host": r.host,
            "backlog": r.backlog,
            "failing": r.failing,
            "oldest_pending_at": r.oldest_pending_at,
            "next_attempt_at": r.next_attempt_at,
            "attempts": r.attempts,
            "last_error": r.last_error,
        }
        for r in failing
    ]
    table = Shown(rows, RECEIVER_COLUMNS, title="failing receivers:")
    if args.failing:
        return table
    return Shown(None, sections={"backlog": Shown(backlog, title="callbacks:"), "failing": table})


def callback_retry(args: argparse.Namespace, ops: Operations) -> Any:
    moved = ops.write(receivers.retry_now, account_id=args.account, host=args.host)
    return {"retried": moved} if args.json else Shown(None, note=f"{moved} callback(s) due now")


def reply_search(args: argparse.Namespace, ops: Operations) -> Any:
    page = ops.read(
        replies.search_replies,
        mobile=args.mobile,
        customer_id=args.customer,
        account_id=args.account,
        text=args.text,
        since=args.since,
        until=args.until,
        limit=args.limit,
        before_id=args.before_id,
    )
    if args.json:
        return page
    rows = [
        {
            "id": r.id,
            "received_at": r.received_at,
            "mobile": r.mobile,
            "customer": _named(r.customer_name, r.customer_id),
            "account": _named(r.account_signature, r.account_id),
            "to": r.destination,
            "connector": r.connector,
            "content": r.content,
        }
        for r in page.rows
    ]
    return Shown(rows, note=_next_page(page.next_before_id, "--before-id"))


def reply_optouts(args: argparse.Namespace, ops: Operations) -> Any:
    page = ops.read(
        replies.search_optouts,
        mobile=args.mobile,
        customer_id=args.customer,
        account_id=args.account,
        limit=args.limit,
        before=args.before,
    )
    if args.json:
        return page
    rows = [
        {
            "mobile": r.mobile,
            "account": _named(r.account_signature, r.account_id),
            "customer": _named(r.customer_name, r.customer_id),
            "created_at": r.created_at,
        }
        for r in page.rows
    ]
    return Shown(rows, note=_next_page(page.next_before, "--before"))


def _page_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=positive_int, default=50, help="rows a page (50)")


def _time_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--since",
        type=since,
        metavar="DATE|DATETIME",
        help="local time, e.g. 2026-12-07 or '2026-12-07 12:00'",
    )
    p.add_argument("--until", type=until, metavar="DATE|DATETIME", help="excluded; a date includes that day")


def register(registry: Registry) -> None:
    sub = registry.group("message", "find messages and follow one")
    search_flags = []
    for name, fn, text in (
        ("search", message_search, "messages matching every filter given, newest first"),
        ("export", message_export, "the same search as CSV (whole contents), to stdout"),
    ):
        p = registry.command(sub, name, fn, text)
        p.add_argument("--msgid", type=positive_int, help="the send's id, as the customer was answered")
        p.add_argument("--mobile", metavar="M")
        p.add_argument("--customer", type=positive_int, metavar="ID")
        p.add_argument("--account", type=positive_int, metavar="ID")
        p.add_argument("--carrier", type=carrier)
        p.add_argument("--connector", metavar="NAME")
        p.add_argument("--state", choices=MESSAGE_STATES)
        _time_flags(p)
        search_flags.append(p)
    _page_flags(search_flags[0])
    search_flags[0].add_argument("--before-id", type=positive_int, metavar="ID", help="the next page")
    search_flags[1].add_argument(
        "--max-rows", type=positive_int, default=messages.EXPORT_MAX_ROWS, help="at most this many rows"
    )
    registry.command(
        sub, "show", message_show, "one message: its timeline, parts and callbacks"
    ).add_argument("id", type=positive_int)

    p = registry.command(registry.groups, "stats", stats, "today, the last hour, queue, links, callbacks")
    p.add_argument("--period", choices=list(dashboard.WINDOWS), default="24h", help="the series shown (24h)")
    p.add_argument("--by", choices=dashboard.SERIES_BY, help="a series per carrier or connector (in --json)")

    sub = registry.group("callback", "status reports and replies owed to customers' URLs")
    p = registry.command(sub, "list", callback_list, "the callbacks backlog and the receivers failing")
    p.add_argument("--failing", action="store_true", help="only the failing receivers")
    p = registry.command(
        sub, "retry", callback_retry, "try waiting callbacks now (all, or one account's or host's)"
    )
    p.add_argument("--account", type=positive_int, metavar="ID")
    p.add_argument("--host", metavar="HOST")

    sub = registry.group("reply", "replies (MO) from subscribers, and opt-outs")
    p = registry.command(sub, "search", reply_search, "replies matching every filter given, newest first")
    p.add_argument("--mobile", metavar="M")
    p.add_argument("--customer", type=positive_int, metavar="ID")
    p.add_argument("--account", type=positive_int, metavar="ID")
    p.add_argument("--text", help="a part of the content")
    _time_flags(p)
    _page_flags(p)
    p.add_argument("--before-id", type=positive_int, metavar="ID", help="the next page")
    p = registry.command(sub, "optouts", reply_optouts, "numbers that opted out, by sub-account")
    p.add_argument("--mobile", metavar="M")
    p.add_argument("--customer", type=positive_int, metavar="ID")
    p.add_argument("--account", type=positive_int, metavar="ID")
    _page_flags(p)
    p.add_argument("--before", metavar="CURSOR", help="the next page")

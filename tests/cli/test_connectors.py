"""connector on the command line: field limits before saving, health, stop and start."""

from __future__ import annotations

from smsplatform.store import connectors
from smsplatform.store.clock import now
from smsplatform.store.connectors import LinkHealth
from tests.cli.conftest import Cli

CMPP = ["--protocol", "cmpp", "--host", "10.0.0.1", "--port", "7890", "--password", "secret-pw"]


def test_add_checks_protocol_limits_and_never_shows_the_password(run: Cli) -> None:
    err = run.fails("connector", "add", "cm-gw", *CMPP, "--system-id", "9012345")
    assert "system id: CMPP's Source_Addr holds at most 6 characters" in err
    assert run.json("connector", "list")[0]["builtin"] is True  # nothing was saved
    sgip = ["--protocol", "sgip", "--host", "h", "--port", "8801", "--system-id", "sp", "--password", "p"]
    assert "listen_port" in run.fails("connector", "add", "cu-gw", *sgip)
    added = run.ok("connector", "add", "cm-gw", *CMPP, "--system-id", "901234", "--src-number", "1069000")
    assert "secret-pw" not in added and "password:" in added and "******" in added
    assert "exists already" in run.fails("connector", "add", "cm-gw", *CMPP, "--system-id", "901234")
    listed = run.json("connector", "list")
    assert (listed[0]["name"], listed[0]["password"]) == ("cm-gw", "******")
    assert "secret-pw" not in run.ok("audit", "list") and "secret-pw" not in run.ok(
        "connector", "show", "cm-gw"
    )


def test_edit_stop_start_remove(run: Cli) -> None:
    run.ok("connector", "add", "cm-gw", *CMPP, "--system-id", "901234", "--tps", "50")
    edited = run.json("connector", "edit", "cm-gw", "--host", "10.0.0.2", "--tps", "0", "--encoding", "gbk")
    assert (edited["host"], edited["tps"], edited["options"]) == ("10.0.0.2", None, {"encoding": "gbk"})
    assert "at most 6" in run.fails("connector", "edit", "cm-gw", "--system-id", "12345678")
    stopped = run.ok("connector", "stop", "cm-gw")
    assert "stopped by operator" in stopped
    assert run.json("connector", "show", "cm-gw")["stopped"] is True
    assert run.json("connector", "start", "cm-gw")["stopped"] is False
    assert run.json("connector", "stop", "sim-cmpp")["builtin"] is True
    assert "not found: connector nosuch" in run.fails("connector", "stop", "nosuch")
    assert run.json("connector", "remove", "cm-gw") == {"removed": "cm-gw"}
    assert "not found: connector cm-gw" in run.fails("connector", "remove", "cm-gw")
    actions = [e["action"] for e in reversed(run.json("audit", "list"))]
    assert actions == [
        "connector.add",
        "connector.edit",
        "connector.stop",
        "connector.start",
        "connector.stop",
        "connector.remove",
    ]


def test_list_shows_state_since_last_error_binds_window_and_rate(run: Cli) -> None:
    run.ok("connector", "add", "cm-gw", *CMPP, "--system-id", "901234")
    at = now()
    run.database(
        connectors.record_stats,
        "worker-1",
        [LinkHealth("cm-gw", "bound", 3, 100, 0, 90, 1, since=at - 60, binds=1, window=16, submit_rate=12.5)],
        at,
    )
    run.database(
        connectors.record_stats,
        "worker-2",
        [
            LinkHealth(
                "cm-gw", "backoff", 0, 50, 2, 40, 0, since=at - 30, window=16, last_error="bind refused: 14",
                last_error_at=at - 31,
            )
        ],
        at,
    )  # fmt: skip
    table = run.ok("connector", "list").splitlines()
    assert table[0].split() == [
        "name", "protocol", "state", "since", "binds", "in", "flight", "rate", "sent", "errors", "carriers",
        "last", "error",
    ]  # fmt: skip
    row = table[1]
    assert row.startswith("cm-gw") and "backoff" in row and "3/32" in row and "12.5/s" in row
    assert "bind refused: 14" in row
    detail = run.ok("connector", "show", "cm-gw")
    assert "per process:" in detail and "worker-1" in detail and "worker-2" in detail


def test_max_binds_is_set_changed_and_removed(run: Cli) -> None:
    added = run.json("connector", "add", "cm-gw", *CMPP, "--system-id", "901234", "--max-binds", "2")
    assert added["options"] == {"max_binds": "2"}
    assert "--max-binds: must be positive" in run.fails(
        "connector", "add", "cm-gw2", *CMPP, "--system-id", "901235", "--max-binds", "0", code=2
    )
    assert run.json("connector", "edit", "cm-gw", "--max-binds", "3")["options"] == {"max_binds": "3"}
    assert "max binds: 1 to 1000" in run.fails("connector", "edit", "cm-gw", "--option", "max_binds=many")
    assert run.json("connector", "edit", "cm-gw", "--max-binds", "0")["options"] == {}


def test_list_counts_the_live_processes_of_every_node_only(run: Cli) -> None:
    """Asked on any node, a link's figures are the sum over the processes reporting it now, on every
    node; a process that stopped reporting (its node died) no longer counts."""
    run.ok("connector", "add", "cm-gw", *CMPP, "--system-id", "901234")
    at = now()
    for process, reported_at in (("node-a:1", at), ("node-b:1", at - 3), ("node-c:1", at - 60)):
        health = [LinkHealth("cm-gw", "bound", 1, 100, 0, 0, 0, since=at - 100, binds=1, window=16)]
        run.database(connectors.record_stats, process, health, reported_at)
    [link] = [c for c in run.json("connector", "list") if c["name"] == "cm-gw"]
    assert (link["health"]["binds"], link["health"]["sent"], link["health"]["state"]) == (2, 200, "bound")
    states = {p["process"]: p["health"]["state"] for p in link["processes"]}
    assert states == {"node-a:1": "bound", "node-b:1": "bound", "node-c:1": "not running"}

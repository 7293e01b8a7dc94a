"""A dispatch node stopped with SIGTERM mid-batch hands its work back: nothing counted as possibly sent.

SIGTERM is how an operator (systemd, compose, a rolling upgrade) stops a node. Unlike SIGKILL, the node
has time to let the submits on the wire be answered and to give back the messages it claimed but did
not submit, so no message is left in doubt: `maybe_sent` stays 0 on every message, and when another
dispatch node delivers the rest, the SMSC (a simulator in a process of its own, keeping a record of
what it received) gets every message exactly once.

The stopped node runs the dispatch role with dispatch workers of its own, on PostgreSQL, as a
scaled-out dispatch machine does; the SMSC answers slowly, so that its links' windows are full when
the signal comes.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.nodes import SIGNATURE, Cluster, cluster_of, onboard
from tests.e2e.support import Platform, Simulator, free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

WINDOW = 16  # unanswered submits per session
# Seconds the SMSC takes to answer a submit: the windows are full at the signal, and the node cannot
# submit all it claimed within its stop grace (dispatch/policy.py stop_grace, 5 s): it must give the
# rest back.
ANSWER_DELAY = 0.2
WORKERS = 2  # the stopped node's dispatch worker processes
# Every message claimed at once (a worker claims up to 4,000); at the signal a tenth is on the wire, and
# the windows carry at most WORKERS * WINDOW / ANSWER_DELAY = 160 a second over the 5 s grace: some
# 1,000 of them are left to give back.
BATCH = 2000
STOPPED_WITHIN = 40.0  # seconds: the workers' stop timeout (workers.STOP_TIMEOUT, 30 s) and some


@pytest.fixture
def nodes(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Cluster]:
    with cluster_of(tmp_path / "nodes", postgres_url, redis_url) as cluster:
        yield cluster


def dispatch_node(cluster: Cluster, name: str, workers: int) -> Platform:
    """A `serve --role dispatch` node with `workers` dispatch worker processes, answering /healthz and
    /readyz on its health port."""
    port = free_port()
    env = cluster.env(role="dispatch", node_name=name, health_port=str(port))
    env["SMSPLATFORM_DISPATCH_WORKERS"] = str(workers)
    data_dir = cluster.root / name
    data_dir.mkdir(parents=True, exist_ok=True)
    node = Platform(data_dir=data_dir, env=env, port=port)
    cluster.nodes[name] = node
    node.start()
    return node


def received(simulator: Simulator) -> list[str]:
    destinations: list[str] = []
    while page := simulator.control("received", since=len(destinations), limit=2000):
        destinations += [message["destination"] for message in page]
    return destinations


def ready(node: Platform) -> int:
    try:
        return httpx.get(f"{node.base}/readyz", timeout=1).status_code
    except httpx.HTTPError:
        return 0  # no longer listening


def test_a_dispatch_node_stopped_with_sigterm_mid_batch_hands_back_its_work_and_nothing_is_sent_twice(
    nodes: Cluster, simulator: Simulator
) -> None:
    nodes.add_connector("upstream", simulator.port, "--window", str(WINDOW))
    api = nodes.node("api-1", "api")
    stopped = dispatch_node(nodes, "dispatch-1", WORKERS)
    assert ready(stopped) == 200
    appkey = onboard(api, totalnum=BATCH * 2)
    wait_for(lambda: simulator.control("counters")["sessions"] >= WORKERS, 30, "the node's workers bound")
    simulator.control("slow_responses", delay=ANSWER_DELAY)
    mobiles = [f"137{n:08d}" for n in range(BATCH)]
    sent = api.api(
        "send", appkey=appkey, mobile=",".join(mobiles), content=SIGNATURE + "会员日全场8折起，回TD退订"
    )
    assert sent["status"] == "0" and sent["result"]["count"] == str(BATCH), sent
    wait_for(lambda: simulator.control("counters")["messages"] >= BATCH // 10, 60, "submits under way")

    assert stopped.process is not None
    stopped.process.send_signal(signal.SIGTERM)
    wait_for(lambda: ready(stopped) != 200, 5, "the stopping node to take itself out of traffic", every=0.05)
    assert stopped.process.wait(timeout=STOPPED_WITHIN) == 0, (
        stopped.log_path and stopped.log_path.read_text()
    )
    on_the_wire = simulator.control("counters")["messages"]
    assert on_the_wire < BATCH, "the signal came too late to test anything"
    (maybe_sent,) = nodes.query("SELECT coalesce(sum(maybe_sent), 0) FROM messages")[0]
    assert maybe_sent == 0, f"{maybe_sent} messages counted as possibly sent by a node stopped with SIGTERM"
    claimed = nodes.query(
        "SELECT count(*) FROM messages WHERE state IN ('queued', 'submitting') AND lease_owner IS NOT NULL"
    )
    assert claimed[0][0] == 0, "claims of the stopped node were not given back"

    simulator.control("clear_faults")
    dispatch_node(nodes, "dispatch-2", 0)

    def settled() -> bool:
        states = nodes.states()
        return sum(states.values()) == BATCH and not {"queued", "submitting", "submitted"} & set(states)

    wait_for(settled, 180, "every message delivered and reported", every=0.5)
    counts = Counter(received(simulator))
    assert set(counts) == set(mobiles), "an accepted message never reached the SMSC"
    twice = sorted(mobile for mobile, count in counts.items() if count > 1)
    assert not twice, f"{len(twice)} messages reached the SMSC twice, e.g. {twice[:5]}"
    (maybe_sent,) = nodes.query("SELECT coalesce(sum(maybe_sent), 0) FROM messages")[0]
    assert maybe_sent == 0
    assert stopped.log_path is not None
    warned = "runs with autovacuum off" in stopped.log_path.read_text()
    assert warned == (nodes.query("SHOW autovacuum")[0][0] == "off"), "the warning at start about autovacuum"

"""Several `smsplatform serve` nodes of one platform: one PostgreSQL database, one Redis, a data
directory each (as on machines of their own), started and killed the way an operator's machines are.

A node is a `tests.e2e.support.Platform`: one without the customer API answers /healthz on its health
port, which is the port `Platform` waits on.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from smsplatform.store.database import normalize_url
from tests.e2e.support import Platform, free_port, platform_env

SIGNATURE = "【进制数据】"
CODE = "您的验证码是@，5分钟内有效"
PROMO = "会员日全场@折起，回TD退订"
SIMULATOR_ACCOUNT = ("901234", "password")


@dataclass
class Cluster:
    """The nodes of one platform, and what every node shares: the database, Redis, the secret key."""

    root: Path
    database_url: str
    redis_url: str
    # Every node must read the secrets the others sealed (appkeys, connector passwords).
    secret_key: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    nodes: dict[str, Platform] = field(default_factory=dict)

    def env(self, **settings: str) -> dict[str, str]:
        """A node's environment: the shared services; no built-in simulators; dispatch in the node's
        own process (one link per connector per node); the schema migrated before any node starts."""
        return platform_env(
            database_url=self.database_url,
            redis_url=self.redis_url,
            secret_key=self.secret_key,
            simulators="0",
            dispatch_workers="0",
            migrate="0",
            **settings,
        )

    def node(self, name: str, role: str, *, machine: str = "", **settings: str) -> Platform:
        """Node `name` running `role`, started and answering /healthz. Nodes given the same `machine`
        share a data directory, as processes of one host do (their dispatchers' submit journals)."""
        node = self._made(name, role, machine, settings)
        node.start()
        return node

    def start(self, *specs: tuple[str, str] | tuple[str, str, str]) -> list[Platform]:
        """Nodes of (name, role[, machine]), started side by side, as an operator's machines boot: a
        node takes seconds to come up, and nothing here needs another up first."""
        made = [self._made(spec[0], spec[1], spec[2] if len(spec) == 3 else "", {}) for spec in specs]
        with ThreadPoolExecutor(len(made)) as pool:
            list(pool.map(Platform.start, made))  # each waits for its /healthz; any failure raises here
        return made

    def _made(self, name: str, role: str, machine: str, settings: dict[str, str]) -> Platform:
        port = free_port()
        if "api" not in role.split(","):
            settings = {"health_port": str(port), **settings}
        data_dir = self.root / (machine or name)
        data_dir.mkdir(parents=True, exist_ok=True)
        node = Platform(data_dir=data_dir, env=self.env(role=role, node_name=name, **settings), port=port)
        self.nodes[name] = node
        return node

    def cli(self, *args: str) -> str:
        """An operator's command, run on a machine of its own against the shared database."""
        operator = self.root / "operator"
        operator.mkdir(parents=True, exist_ok=True)
        return Platform(data_dir=operator, env=self.env()).cli(*args)

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of the shared database, read as an operator would, outside every node."""
        engine = sa.create_engine(normalize_url(self.database_url))
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def states(self) -> dict[str, int]:
        """How many messages are in each state."""
        return {
            row[0]: int(row[1]) for row in self.query("SELECT state, count(*) FROM messages GROUP BY state")
        }

    def add_connector(self, name: str, port: int, *options: str) -> None:
        """A link to the simulator on `port`, carrying every carrier's numbers."""
        self.cli(
            "connector", "add", name, "--protocol", "smpp", "--host", "127.0.0.1", "--port", str(port),
            "--system-id", SIMULATOR_ACCOUNT[0], "--password", SIMULATOR_ACCOUNT[1],
            "--src-number", "1069000", "--carriers", "mobile,unicom,telecom,broadnet", *options,
        )  # fmt: skip

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()


def onboard(api: Platform, *, totalnum: int, statusurl: str = "") -> str:
    """A customer with an approved sub-account and its verification and marketing templates; its appkey."""
    appkey = api.cli("customer", "create", "--name", "scale", "--totalnum", str(totalnum))
    extra = {"statusurl": statusurl} if statusurl else {}
    account = api.api(
        "addaccount", appkey=appkey, company="进制数据", signature=SIGNATURE, totalnum=str(totalnum), **extra
    )
    assert account["status"] == "0", account
    for name, content, market in (("code", CODE, "0"), ("promo", PROMO, "1")):
        added = api.api(
            "addtemplate",
            appkey=appkey,
            accountid=account["result"]["accountid"],
            name=name,
            content=content,
            ismarket=market,
        )
        assert added["result"]["status"] == "1", added
    return appkey


@contextmanager
def cluster_of(root: Path, database_url: str, redis_url: str) -> Iterator[Cluster]:
    """A cluster whose nodes are all stopped at the end, whatever happened."""
    cluster = Cluster(root=root, database_url=database_url, redis_url=redis_url)
    try:
        yield cluster
    finally:
        cluster.stop()


def connects_to(pid: int, port: int) -> bool:
    """Whether process `pid` holds an established TCP connection to 127.0.0.1:`port` (Linux /proc)."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for descriptor in descriptors:
        try:
            target = descriptor.readlink().name
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False

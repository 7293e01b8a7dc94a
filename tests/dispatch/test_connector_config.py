"""From the operator's connector rows to the links' configuration, and a stored connector's link bound
with the password it was given."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.admin import connectors as admin_connectors
from smsplatform.admin.actors import cli_actor
from smsplatform.connectors.config import BindMode
from smsplatform.dispatch.connector_config import connector_config
from smsplatform.simulator.server import SmscServer
from smsplatform.store.connectors import ConnectorRow
from smsplatform.store.database import Database
from smsplatform.store.schema import connectors
from tests.dispatch.conftest import Running, StartDispatcher, eventually

OPERATOR = cli_actor("root")


def row(**options: str) -> ConnectorRow:
    return ConnectorRow(
        "cmpp-a", "cmpp", "10.0.0.1", 7890, "901234", "secret", 32, 200, "1069000", (), options
    )


def test_engine_options_become_fields_and_the_rest_stays_extra() -> None:
    config = connector_config(
        row(response_timeout="60", response_tries="3", bind_mode="transmitter_receiver", version="3.0")
    )
    assert (config.name, config.protocol, config.host, config.port) == ("cmpp-a", "cmpp", "10.0.0.1", 7890)
    assert (config.window, config.tps, config.source_number) == (32, 200, "1069000")
    assert (config.response_timeout, config.response_tries) == (60.0, 3)
    assert config.bind_mode is BindMode.TRANSMITTER_RECEIVER
    assert config.extra == {"version": "3.0"}


def test_an_unreadable_engine_option_names_the_connector() -> None:
    with pytest.raises(ValueError, match=r"cmpp-a.*response_timeout"):
        connector_config(row(response_timeout="soon"))


async def test_a_connector_added_by_the_operator_binds_with_its_sealed_password(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    options = {"response_timeout": "2", "bind_wait": "0.3", "reconnect_initial": "0.05"}
    common = {"protocol": "smpp", "host": "127.0.0.1", "port": smsc.port, "system_id": "other"}
    for name, password in (("right", "pw2"), ("wrong", "nope")):
        with db.engine.begin() as conn:
            admin_connectors.add_connector(conn, OPERATOR, name, password=password, options=options, **common)
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(connectors.c.password, connectors.c.secrets_sealed)).all()
    assert all(plain == "" and "pw2" not in str(sealed) for plain, sealed in stored)
    running = await start_dispatcher()
    await eventually(lambda: health(running, "right") == "bound")
    assert health(running, "wrong") != "bound" and smsc.counters.binds == 1


def health(running: Running, name: str) -> str:
    stats = running.dispatcher.connector_stats().get(name)
    return "absent" if stats is None else stats.state


def test_max_binds_becomes_a_field() -> None:
    assert connector_config(row(max_binds="2")).max_binds == 2
    assert connector_config(row()).max_binds is None
    with pytest.raises(ValueError, match=r"cmpp-a.*max_binds"):
        connector_config(row(max_binds="two"))

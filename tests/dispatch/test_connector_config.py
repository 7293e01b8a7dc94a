from __future__ import annotations

import pytest

from smsplatform.connectors.config import BindMode
from smsplatform.dispatch.connector_config import connector_config
from smsplatform.store.connectors import ConnectorRow


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

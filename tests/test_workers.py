"""What `serve` tells a dispatch worker: the built-in links survive the trip through the environment."""

from __future__ import annotations

from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.workers import WorkerSpec


def test_a_worker_spec_survives_its_trip_as_text() -> None:
    spec = WorkerSpec(
        index=1,
        count=2,
        callbacks_fd=7,
        builtin=(
            ConnectorConfig(
                "sim-cmpp", "cmpp", "127.0.0.1", 7890, "901234", "password", source_number="1069000"
            ),
            ConnectorConfig(
                "sim-sgip",
                "sgip",
                "127.0.0.1",
                8801,
                "901234",
                "password",
                tps=50.5,
                bind_mode=BindMode.TRANSMITTER_RECEIVER,
                extra={"listen_port": "8802", "node_id": "3000100001"},
            ),
        ),
        builtin_carriers={"sim-cmpp": ("mobile",), "sim-sgip": ("unicom",)},
        default_route=("sim-cmpp",),
    )
    assert WorkerSpec.from_json(spec.to_json()) == spec

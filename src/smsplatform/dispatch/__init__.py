"""Dispatch: claims queued messages, routes them to connectors, submits, retries and fails over, and
turns receipts and replies into state changes and callbacks."""

from smsplatform.dispatch.dispatcher import Dispatcher, DispatchStats
from smsplatform.dispatch.manager import ConnectorManager
from smsplatform.dispatch.policy import DispatchPolicy

__all__ = ["ConnectorManager", "DispatchPolicy", "DispatchStats", "Dispatcher"]

"""Delivering status reports and replies to customers' URLs: batching, signing, retries, address guard."""

from smsplatform.callbacks.schedule import RetrySchedule
from smsplatform.callbacks.signing import SIGNATURE_HEADER, sign
from smsplatform.callbacks.worker import CallbackStats, CallbackWorker

__all__ = ["SIGNATURE_HEADER", "CallbackStats", "CallbackWorker", "RetrySchedule", "sign"]

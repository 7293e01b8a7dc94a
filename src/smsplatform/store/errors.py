"""What the repositories refuse, named by the rule that refused it (the API maps them to codes)."""


class StoreError(Exception):
    pass


class NotFound(StoreError):
    """No such row, or not the caller's: the two look the same from outside."""


class SignatureTaken(StoreError):
    """Another sub-account of the platform already uses this signature."""


class QuotaExceeded(StoreError):
    """The customer's unallocated quota cannot cover the sub-account's `totalnum`."""


class TotalBelowUsed(StoreError):
    """A sub-account's `totalnum` may not go below what it has already used."""


class DuplicateTemplateName(StoreError):
    """The sub-account already has a template of that name."""


class InvalidState(StoreError):
    """The operator asked for a transition the row's state does not allow."""

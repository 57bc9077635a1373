"""Named failures of queue operations; each carries the API's stable error code and HTTP status."""


class QueueError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationFailed(QueueError):
    code = "validation_error"

    def __init__(self, fields: dict[str, list[str]], message: str = "Invalid input."):
        super().__init__(message, fields=fields)
        self.fields = fields


class PayloadTooLarge(QueueError):
    code = "payload_too_large"
    status = 413


class RateLimited(QueueError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, **details):
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = max(1, int(retry_after))


class QuotaExceeded(RateLimited):
    code = "quota_exceeded"


class Conflict(QueueError):
    code = "conflict"
    status = 409


class IdempotencyConflict(Conflict):
    """The Idempotency-Key was used before with a different request body."""


class InvalidTransition(Conflict):
    """The job is not in a state that allows this change."""


class LeaseLost(Conflict):
    """The lease token is stale: the lease expired and the job was reaped or claimed again."""

    code = "stale_lease"

"""Domain errors raised by services and turned into API errors or admin messages at the edge."""


class DomainError(Exception):
    """A refusal with a stable code, a human message and, for bad input, errors by field."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.errors = errors or {}


class InvalidInput(DomainError):
    """Bad input: nothing was written (HTTP 400)."""

    code = "invalid"


class NotFound(DomainError):
    """The object does not exist or is not visible to the caller (HTTP 404)."""

    code = "not_found"


class BusinessRefusal(DomainError):
    """Valid input the business rules refuse (HTTP 409): no_supply, cap_exceeded..."""

    code = "refused"

"""Exceptions raised by the domain; the web layer maps them onto the one JSON error shape."""


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidInput(DomainError):
    """Input that breaks a domain rule, with messages per field (dotted paths such as ``participants.2.email``)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))

    @classmethod
    def one(cls, field: str, message: str) -> "InvalidInput":
        return cls({field: [message]})


class NotFound(DomainError):
    """Missing, or another organizer's: the two must look the same to the caller."""


class NotAllowed(DomainError):
    """The caller is known but may not do this."""


class AlreadyLinked(DomainError):
    """An Outlook meeting is already linked to another activity."""


class Conflict(DomainError):
    """The request conflicts with what is stored; ``reason`` is a stable code the taskpane maps to its own words,
    ``details`` what it needs to explain it."""

    def __init__(self, message: str, reason: str, details: dict | None = None):
        super().__init__(message)
        self.reason = reason
        self.details = details or {}


class Gone(Conflict):
    """What was asked for was there and is no longer the caller's: the CRM deleted it or moved it to another
    organizer; ``reason`` and ``details`` say which (answered 410)."""


class StaleVersion(DomainError):
    """The activity changed since the caller read it (optimistic concurrency)."""

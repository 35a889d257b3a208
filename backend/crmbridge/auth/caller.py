"""Who is calling: the one identity type every view sees, whatever proved it."""

from dataclasses import dataclass, field

# The app role an integration (the CRM pushing activities) needs to act for any organizer it names.
INTEGRATION_ROLE = "Activities.ReadWrite.All"


@dataclass(frozen=True)
class Caller:
    """A signed-in organizer (``kind="user"``) or an integration such as the CRM (``kind="app"``)."""

    kind: str
    email: str | None
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

"""Who is calling: the one identity type every view sees, whatever proved it."""

from dataclasses import dataclass, field

# The app role an integration (the CRM pushing activities) needs to act for any organizer it names.
INTEGRATION_ROLE = "Activities.ReadWrite.All"
# The app role (of a person or an application) that may read the audit trail.
ADMIN_ROLE = "Crmbridge.Admin"
# The tenant of development tokens that name none; Entra tokens always carry their tenant (``tid``).
DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Caller:
    """A signed-in organizer (``kind="user"``) or an integration such as the CRM (``kind="app"``)."""

    kind: str
    email: str | None
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant_id: str = DEFAULT_TENANT

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

"""Who is calling: the one identity type every view sees, whatever proved it."""

from dataclasses import dataclass, field

from ..domain.addresses import parse_address

# The app role an integration (the CRM pushing activities) needs to act for any organizer of its tenant.
INTEGRATION_ROLE = "Activities.ReadWrite.All"
# The app role (of a person or an application) that may read the audit trail.
ADMIN_ROLE = "Crmbridge.Admin"
# The tenant of development tokens that name none; Entra tokens always carry their tenant (``tid``).
DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Caller:
    """A signed-in organizer (``kind="user"``) or an integration such as the CRM (``kind="app"``).

    A user is their tenant and object id (``subject`` is ``tid:oid``); ``email`` is their primary address and
    ``addresses`` every address of theirs (aliases too; empty when only ``email`` is known), from the directory or
    a claim, checked against the tenant's domains, never from one a user can set. Development tokens have tenant "".
    """

    kind: str
    email: str | None
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant_id: str = DEFAULT_TENANT
    object_id: str | None = None
    addresses: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def address_keys(self) -> frozenset[str]:
        """How each of the user's addresses compares (``Address.key``): an activity organized under any of them is
        theirs while it has no organizer object id."""
        if self.email is None:
            return frozenset()
        return frozenset(parse_address(address).key for address in self.addresses | {self.email})

"""Each user's msal token cache in the ``token_caches`` table, encrypted with CRMBRIDGE_TOKEN_CACHE_KEY."""

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .auth.obo import CacheCipher, EncryptedTokenCacheStore
from .models import TokenCacheRow, now


class DatabaseTokenCacheStore:
    """Loads and saves one row per user, each in its own short session.

    Not the request's session: the cache must be kept even when the request's own changes are rolled back, and
    saving it must not commit them. With SQLite, get Graph tokens before the request writes, or after it commits:
    a second writer waits for the first.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, user_key: str) -> str | None:
        with self._sessions() as session:
            row = session.get(TokenCacheRow, user_key)
            return row.blob if row is not None else None

    def save(self, user_key: str, blob: str) -> None:
        with self._sessions() as session:
            if session.execute(_update(user_key, blob)).rowcount:
                session.commit()
                return
            session.add(TokenCacheRow(user_key=user_key, blob=blob))
            try:
                session.commit()
            except IntegrityError:  # another request of the same user inserted first; the newer cache wins
                session.rollback()
                session.execute(_update(user_key, blob))
                session.commit()


    def remember_mailbox(self, user_key: str, mailbox: str) -> None:
        """Note whose mailbox the cache of ``user_key`` serves (a worker looks it up by mailbox)."""
        with self._sessions() as session:
            session.execute(update(TokenCacheRow).where(TokenCacheRow.user_key == user_key,
                                                        or_(TokenCacheRow.mailbox.is_(None),
                                                            TokenCacheRow.mailbox != mailbox))
                            .values(mailbox=mailbox))
            session.commit()

    def user_key_for(self, mailbox: str) -> str | None:
        """The newest cache of the user whose mailbox is ``mailbox``."""
        with self._sessions() as session:
            return session.scalar(select(TokenCacheRow.user_key).where(TokenCacheRow.mailbox == mailbox)
                                  .order_by(TokenCacheRow.updated_at.desc()).limit(1))


def _update(user_key: str, blob: str):
    return update(TokenCacheRow).where(TokenCacheRow.user_key == user_key).values(blob=blob, updated_at=now())


def encrypted_store(sessions: sessionmaker[Session], key: str) -> EncryptedTokenCacheStore:
    """The store the on-behalf-of client uses: ciphertext in the database, plaintext only in memory."""
    return EncryptedTokenCacheStore(DatabaseTokenCacheStore(sessions), CacheCipher(key))

"""Both ends of the notification channel: the trigger's SQL the imports team installs on `datasets` (never this
service), the channel's rule, and the LISTEN loop on the primary that hands the hub the users named."""
import asyncio
import contextlib
import logging
import re
import uuid

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)


async def notification_connection():
    """Return a connection of its own (autocommit) for LISTEN, to the primary (DATABASE_URL): notifications are sent
    where the imports service writes, and a streaming replica neither relays them nor accepts LISTEN."""
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return await psycopg.AsyncConnection.connect(**params, autocommit=True)


async def listen(channel, on_user, on_listening, retry):
    """LISTEN to `channel` on the primary for as long as the task runs: `on_listening(True)` once in place,
    `on_user(id)` for each notification naming a user; after any failure (the primary restarted, the network)
    `on_listening(False)`, and again after `retry` seconds, the tick going on meanwhile."""
    while True:
        try:
            # Quoted: the identifier keeps its case, as pg_notify's literal does. A channel outside the rule (jobs.E004,
            # which ASGI servers do not run) is logged here and tried again, never a task that dies unseen.
            statement = f'LISTEN "{checked_channel(channel)}"'
            async with await notification_connection() as connection:
                await connection.execute(statement)
                on_listening(True)
                async for notification in connection.notifies():
                    with contextlib.suppress(ValueError):
                        on_user(uuid.UUID(notification.payload))
        except Exception:
            logger.warning("Listening for dataset notifications failed; retrying.", exc_info=True)
            on_listening(False)
            await asyncio.sleep(retry)


NOTIFY_SQL = """-- Run by the imports team on the database of `datasets` (the jobs service never installs it).
-- A change notifies the dataset's owner before it and after it: a dataset given to another user leaves one list
-- and joins another. PostgreSQL sends the same owner once per transaction.
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.created_by IS NOT NULL THEN
        PERFORM pg_notify({channel_literal}, OLD.created_by::text);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.created_by IS NOT NULL THEN
        PERFORM pg_notify({channel_literal}, NEW.created_by::text);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS {function} ON datasets;
CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON datasets
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""


# A channel is written into the trigger's SQL: only a plain PostgreSQL identifier (at most 63 bytes) is taken.
CHANNEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


CHANNEL_RULE = "letters, digits and _, not starting with a digit, at most 63 characters"


def channel_problem(channel):
    """Return why `channel` cannot be the trigger's channel, or None when it is a plain PostgreSQL identifier."""
    if CHANNEL_NAME.fullmatch(channel):
        return None
    return f"The channel {channel!r} is not a plain PostgreSQL identifier ({CHANNEL_RULE})."


def checked_channel(channel):
    """Return `channel`, or raise ValueError unless it is a plain PostgreSQL identifier: the one rule both ends rely on
    (the trigger's string literal, the LISTEN's quoted identifier), so that neither needs escaping."""
    if (problem := channel_problem(channel)) is not None:
        raise ValueError(problem)
    return channel


def notify_sql(channel):
    """Return the trigger SQL that notifies `channel` with the owners (before and after) of every changed dataset."""
    return NOTIFY_SQL.format(function="databiz_jobs_notify", channel_literal=f"'{checked_channel(channel)}'")

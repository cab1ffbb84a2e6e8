"""A stored delivery no longer notifies the processors within its own transaction.

PostgreSQL serialises every committing transaction that notified on one lock for the whole
database, and wakes every listening connection of the database (each service's relay too) to
read the notification: under a vendor's burst, deliveries queued on that lock and the other
services' connections woke for each one. Talent now tells the processors itself, one NOTIFY for
many deliveries (`handover_talent.ingestion.wakeup`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _store_delivery(after_insert: str) -> str:
    """`talent.store_delivery` as migration 0006 made it, but for what follows the insert."""
    return f"""
        CREATE OR REPLACE FUNCTION talent.store_delivery(
            p_source_id uuid, p_client_id uuid, p_partner_id uuid, p_event_id text,
            p_channel text, p_action text, p_kind text, p_candidate_ref text, p_status text,
            p_reason text, p_processed_at timestamptz, p_headers jsonb, p_body bytea,
            OUT stored_id uuid, OUT original_id uuid
        ) LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            caller_tenant text := current_setting('handover.tenant', true);
        BEGIN
            PERFORM set_config('handover.tenant', p_client_id::text, true);
            INSERT INTO talent.hris_events AS e (
                source_id, client_id, partner_id, event_id, channel, action, kind,
                candidate_ref, status, reason, processed_at, headers, body
            )
            VALUES (p_source_id, p_client_id, p_partner_id, p_event_id, p_channel, p_action,
                    p_kind, p_candidate_ref, p_status, p_reason, p_processed_at, p_headers,
                    p_body)
            ON CONFLICT (source_id, event_id) WHERE duplicate_of IS NULL DO NOTHING
            RETURNING e.id INTO stored_id;
            {after_insert}
            -- Called within a caller's transaction, its tenancy is given back.
            PERFORM set_config('handover.tenant', coalesce(caller_tenant, ''), true);
        END
        $$
    """  # noqa: S608 - the function's own text; `after_insert` is ours too


# A redelivery is kept as a duplicate of the original, without its body.
_DUPLICATE = """
                INSERT INTO talent.hris_events AS e (
                    source_id, client_id, partner_id, event_id, channel, action, kind,
                    candidate_ref, status, reason, processed_at, headers, duplicate_of
                )
                VALUES (p_source_id, p_client_id, p_partner_id, p_event_id, p_channel,
                        p_action, p_kind, p_candidate_ref, 'duplicate', p_reason, now(),
                        p_headers,
                        (SELECT o.id FROM talent.hris_events AS o
                         WHERE o.source_id = p_source_id AND o.event_id = p_event_id
                           AND o.duplicate_of IS NULL))
                RETURNING e.id, e.duplicate_of INTO stored_id, original_id;
"""


def upgrade() -> None:
    op.execute(_store_delivery(f"IF stored_id IS NULL THEN {_DUPLICATE} END IF;"))


def downgrade() -> None:
    op.execute(
        _store_delivery(
            "IF stored_id IS NOT NULL THEN PERFORM pg_notify('talent_hris_events', '');"
            f" ELSE {_DUPLICATE} END IF;"
        )
    )

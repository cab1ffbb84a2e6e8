"""Talent's own commands, beside those every service has.

`process-hris-events`: the HRIS event processor as a process of its own, so that applying
events never shares an event loop (or a CPU request) with the webhook. What it writes to the
outbox reaches the server's relay through the outbox's NOTIFY at commit, as facts written in
the server itself do.

`reseal-hris-secrets`: every source's signing secrets sealed again under the first of
`TALENT_HRIS_SECRETS_KEYS`, so that the keys after it can be retired."""

import argparse
import asyncio
import signal

import structlog

from handover_kit.cli import Command, freeze_start_up
from handover_kit.db import ALL_TENANTS, Database
from handover_kit.settings import ServiceSettings
from handover_talent.config import Settings
from handover_talent.ingestion.repository import SourceRepository
from handover_talent.ingestion.secrets import SecretBox
from handover_talent.ingestion.service import Resealed, reseal_secrets
from handover_talent.main import hris_processor

log = structlog.get_logger(__name__)

STARTED = "hris_processor_started"
"""Logged once the processor runs: what the dev stack waits for, having no port to ask."""


async def process_until_stopped(settings: Settings) -> None:
    """Apply events until SIGTERM or SIGINT; a batch under way is then rolled back, and its
    events stay `received` for whichever processor claims them next."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    db = Database(settings, application_name="talent hris processor")
    try:
        async with hris_processor(db, settings).running():
            freeze_start_up()
            log.info(STARTED)
            await stopping.wait()
    finally:
        await db.dispose()
    log.info("hris_processor_stopped")


def _configure(_: argparse.ArgumentParser) -> None:
    pass


def _run(settings: ServiceSettings, _: argparse.Namespace) -> int:
    if not isinstance(settings, Settings):
        raise TypeError(f"talent's settings expected, not {type(settings).__name__}")
    asyncio.run(process_until_stopped(settings))
    return 0


PROCESS_HRIS_EVENTS = Command(
    help="apply stored HRIS events until SIGTERM, beside servers with TALENT_HRIS_PROCESSOR=false",
    configure=_configure,
    run=_run,
)


async def reseal(settings: Settings) -> Resealed:
    box = SecretBox(settings.hris_keys())
    db = Database(settings, application_name="talent reseal")
    try:
        async with db.session(ALL_TENANTS) as session, session.begin():
            return await reseal_secrets(SourceRepository(session), box)
    finally:
        await db.dispose()


def _reseal(settings: ServiceSettings, _: argparse.Namespace) -> int:
    if not isinstance(settings, Settings):
        raise TypeError(f"talent's settings expected, not {type(settings).__name__}")
    result = asyncio.run(reseal(settings))
    log.info(
        "hris_secrets_resealed",
        resealed=result.resealed,
        already=result.already,
        unreadable=[str(source) for source in result.unreadable],
    )
    return 1 if result.unreadable else 0


RESEAL_HRIS_SECRETS = Command(
    help="seal every HRIS source's secrets again under the first of TALENT_HRIS_SECRETS_KEYS, "
    "so that the keys after it can be retired; exits 1 if a secret no key opens is left",
    configure=_configure,
    run=_reseal,
)

import sys

from handover_kit.cli import run
from handover_talent.config import Settings
from handover_talent.db import MIGRATIONS
from handover_talent.ingestion.command import PROCESS_HRIS_EVENTS, RESEAL_HRIS_SECRETS

COMMANDS = {
    "process-hris-events": PROCESS_HRIS_EVENTS,
    "reseal-hris-secrets": RESEAL_HRIS_SECRETS,
}


def main() -> None:
    sys.exit(run("talent", Settings, MIGRATIONS, "handover_talent.main:create_app", extra=COMMANDS))


if __name__ == "__main__":
    main()

import sys

from handover_kit.cli import run
from handover_talent.config import Settings
from handover_talent.db import MIGRATIONS
from handover_talent.ingestion.command import PROCESS_HRIS_EVENTS

COMMANDS = {"process-hris-events": PROCESS_HRIS_EVENTS}


def main() -> None:
    sys.exit(run("talent", Settings, MIGRATIONS, "handover_talent.main:create_app", extra=COMMANDS))


if __name__ == "__main__":
    main()

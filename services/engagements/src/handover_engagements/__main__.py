import sys

from handover_engagements.access import bootstrap
from handover_engagements.config import Settings
from handover_engagements.db import MIGRATIONS
from handover_kit.cli import Command, run

COMMANDS = {
    "create-platform-key": Command(
        help="create a platform-wide API key with every scope, and print it",
        configure=bootstrap.configure,
        run=bootstrap.run,
    )
}


def main() -> None:
    sys.exit(
        run(
            "engagements",
            Settings,
            MIGRATIONS,
            "handover_engagements.main:create_app",
            extra=COMMANDS,
        )
    )


if __name__ == "__main__":
    main()

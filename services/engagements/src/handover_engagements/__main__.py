import sys

from handover_engagements.config import Settings
from handover_engagements.db import MIGRATIONS
from handover_kit.cli import run


def main() -> None:
    sys.exit(run("engagements", Settings, MIGRATIONS, "handover_engagements.main:create_app"))


if __name__ == "__main__":
    main()

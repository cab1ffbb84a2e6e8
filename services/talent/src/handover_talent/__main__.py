import sys

from handover_kit.cli import run
from handover_talent.config import Settings
from handover_talent.db import MIGRATIONS


def main() -> None:
    sys.exit(run("talent", Settings, MIGRATIONS, "handover_talent.main:create_app"))


if __name__ == "__main__":
    main()

"""`python -m services.journal migrate` brings the configured database to the latest schema."""

from __future__ import annotations

import argparse

from services.journal.app import MIGRATIONS
from services.journal.settings import JournalSettings
from services.kernel.migrations import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.journal")
    parser.add_argument("command", choices=["migrate"])
    parser.parse_args()
    settings = JournalSettings()
    upgrade(MIGRATIONS, settings.database_url)
    print(f"journal: {settings.database_url} is at the latest schema")


if __name__ == "__main__":
    main()

"""`python -m services.journal migrate` brings the configured database to the latest schema."""

from services.journal.app import MIGRATIONS
from services.journal.settings import JournalSettings
from services.kernel.migrations import migrate_command

if __name__ == "__main__":
    migrate_command("journal", MIGRATIONS, JournalSettings().database_url)

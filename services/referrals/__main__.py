"""`python -m services.referrals migrate` brings the configured database to the latest schema."""

from services.kernel.migrations import migrate_command
from services.referrals.app import MIGRATIONS
from services.referrals.settings import ReferralsSettings

if __name__ == "__main__":
    migrate_command("referrals", MIGRATIONS, ReferralsSettings().database_url)

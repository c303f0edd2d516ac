"""`python -m services.referrals migrate` brings the configured database to the latest schema."""

from services.kernel.clinical_app import migrate_main
from services.referrals.app import MIGRATIONS
from services.referrals.settings import ReferralsSettings

if __name__ == "__main__":
    migrate_main("referrals", ReferralsSettings(), MIGRATIONS)

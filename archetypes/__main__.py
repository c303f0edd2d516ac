import sys

from archetypes._cli import main

sys.exit(main())

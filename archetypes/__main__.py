import sys

from archetypes._cli import main

if __name__ == "__main__":
    sys.exit(main())

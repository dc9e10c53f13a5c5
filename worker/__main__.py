"""``python -m worker [scheduler]``: the RQ worker (default) or the cron scheduler, as ``grc worker|scheduler``."""
import sys

from grc.cli import main

if __name__ == "__main__":
    sys.exit(main([sys.argv[1] if len(sys.argv) > 1 else "worker", *sys.argv[2:]]))

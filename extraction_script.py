"""Run the Binance extractor: ``python extraction_script.py [--once | --live-trades] [--symbols ...]``.

The same as ``binance-cdc extract``; ``--debug`` may come anywhere.
"""

import sys

from binance_cdc.cli.main import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    debug = ["--debug"] if "--debug" in argv else []
    raise SystemExit(main([*debug, "extract", *(a for a in argv if a != "--debug")]))

"""The `binance-cdc` command line: thin subcommands over the library."""

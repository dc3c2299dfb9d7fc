from binance_cdc.cli.main import main

raise SystemExit(main())

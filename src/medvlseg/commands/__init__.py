"""CLI subcommands, one module each: `add_parser(subparsers, parents)` registers flags and `func`."""

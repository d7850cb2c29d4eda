"""One module per `skinbot` subcommand; each defines `register(subparsers)` and keeps heavy imports lazy."""

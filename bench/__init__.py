"""Performance scripts. Each is an entry point, so, like the app and the CLI, they register the
domains before anything runs: the services' permission checks read the registry."""

from rapport import domains

domains.install()

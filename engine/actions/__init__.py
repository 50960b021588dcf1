"""Use cases: each one transaction over the store, called by the CLI and the service.

`loading` puts a plan file into the store; `tasks` records progress, requests and decisions;
`board` reads the board (Core only, for a fast cold start); `views` reads a task's page and the
pending requests.
"""

"""Use cases: each one transaction over the store, called by the CLI and the service.

`loading` puts a plan file into the store; `tasks` records progress, requests and decisions;
`views` reads the board, a task and the pending requests.
"""

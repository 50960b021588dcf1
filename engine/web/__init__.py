"""The web: the coordinating office's console, each unit's page behind its link, and the API."""

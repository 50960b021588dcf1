"""duban (督办): keeps government implementation plans on schedule."""

__version__ = "0.1.0"

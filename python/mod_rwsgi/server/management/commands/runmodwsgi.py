# mod_wsgi's name for the same command, so that existing scripts keep working.
from .runrwsgi import Command  # noqa: F401

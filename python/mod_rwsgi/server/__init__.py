"""Django integration, as mod_wsgi's `mod_wsgi.server`: add 'mod_rwsgi.server' to INSTALLED_APPS, then
`python manage.py runrwsgi` (or `runmodwsgi`, so existing scripts keep working) starts rwsgi-express for the
project: its WSGI_APPLICATION, its directory as the working directory, STATIC_URL served from STATIC_ROOT.
Every argument is passed to `rwsgi-express start-server` (e.g. --port 8080 --processes 2)."""

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mod_rwsgi import express_path, module_path, python_home


class Command(BaseCommand):
    help = ('Starts rwsgi-express (mod_rwsgi under Apache httpd) for this project; every argument goes to '
            '`rwsgi-express start-server` (see `rwsgi-express start-server --help`).')

    def run_from_argv(self, argv):
        # The arguments are rwsgi-express's, not Django's: no parsing here.
        self.handle(*argv[2:])

    def handle(self, *args, **options):
        target = getattr(settings, 'WSGI_APPLICATION', None)
        if not target or '.' not in target:
            raise CommandError('settings.WSGI_APPLICATION must name the WSGI application, e.g. "mysite.wsgi.application"')
        module, _, callable_object = target.rpartition('.')
        base = str(getattr(settings, 'BASE_DIR', os.getcwd()))
        cmd = [express_path(), 'start-server', '--application-type', 'module', module,
               '--callable-object', callable_object, '--working-directory', base, '--python-path', base]
        static_url, static_root = getattr(settings, 'STATIC_URL', None), getattr(settings, 'STATIC_ROOT', None)
        if static_url and static_root and str(static_url).startswith('/'):
            cmd += ['--url-alias', str(static_url).rstrip('/'), str(static_root)]
        cmd += list(args)
        env = dict(os.environ)
        env.setdefault('RWSGI_MODULE', module_path())
        if sys.prefix != sys.base_prefix:
            env.setdefault('VIRTUAL_ENV', python_home())
        sys.stdout.flush()
        os.execve(cmd[0], cmd, env)

"""The `rwsgi-express` command of a pip installation: runs the packaged program with the packaged module and
this environment's Python (as mod_wsgi-express serves the virtualenv it is installed in, with no VIRTUAL_ENV or
--python-home needed)."""

import os
import sys

from . import express_path, module_path, python_home


def main():
    env = dict(os.environ)
    env.setdefault('RWSGI_MODULE', module_path())
    if sys.prefix != sys.base_prefix:
        # A virtual environment: its packages are the app's (an explicit --python-home still wins).
        env.setdefault('VIRTUAL_ENV', python_home())
    exe = express_path()
    os.execve(exe, [exe] + sys.argv[1:], env)


if __name__ == '__main__':
    main()

"""Builds the Rust parts when pip builds the package.

Why not maturin or setuptools-rust: neither artifact is a Python extension module. mod_rwsgi.so is an Apache
module that embeds the Python it was built for, and rwsgi-express is a program; maturin builds one artifact kind
per project, and setuptools-rust would name the Apache module like an extension. A build step that runs the same
`cargo build` as ./dev (with PYO3_PYTHON set to the Python running pip, so the module links that Python's
libpython) and copies the two files into the package is all it takes, and keeps one build for every way in.
"""

import os
import shutil
import subprocess
import sys
import sysconfig

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    sys.stderr.write('mod_rwsgi: %s\n' % message)
    raise SystemExit(1)


def check_tools():
    """Each missing build tool is one error naming what to install (before cargo prints pages)."""
    if shutil.which('cargo') is None:
        fail('building needs Rust >= 1.85: install it with rustup (https://rustup.rs), then run pip again')
    apxs = [os.environ.get('APXS'), shutil.which('apxs'), shutil.which('apxs2'), '/usr/bin/apxs']
    if not any(a and os.access(a, os.X_OK) for a in apxs):
        fail('building needs the Apache httpd headers (apxs): apt-get install apache2-dev (Debian, Ubuntu) or '
             'dnf install httpd-devel (RHEL, CentOS)')
    ldconfig = shutil.which('ldconfig') or '/sbin/ldconfig'
    try:
        libs = subprocess.run([ldconfig, '-p'], capture_output=True, text=True).stdout
    except OSError:
        libs = ''
    if 'libclang' not in libs and not os.environ.get('LIBCLANG_PATH'):
        fail('building needs libclang (bindgen reads the httpd headers with it): apt-get install libclang-dev '
             '(Debian, Ubuntu) or dnf install clang-devel (RHEL, CentOS)')


class build_rust(build_py):
    def run(self):
        check_tools()
        build_py.run(self)
        target = os.environ.get('CARGO_TARGET_DIR') or os.path.join(
            ROOT, 'target', 'pip-%s' % sysconfig.get_config_var('SOABI'))
        env = dict(os.environ, PYO3_PYTHON=sys.executable, CARGO_TARGET_DIR=target)
        subprocess.check_call(['cargo', 'build', '--release', '--locked', '-p', 'mod_rwsgi', '-p', 'rwsgi-express'],
                              cwd=ROOT, env=env)
        dest = os.path.join(self.build_lib, 'mod_rwsgi')
        os.makedirs(dest, exist_ok=True)
        for built, name in (('libmod_rwsgi.so', 'mod_rwsgi.so'), ('rwsgi-express', 'rwsgi-express')):
            shutil.copy2(os.path.join(target, 'release', built), os.path.join(dest, name))
            os.chmod(os.path.join(dest, name), 0o755)


class BinaryDistribution(Distribution):
    """The wheel holds binaries for one Python version and platform (the module links that libpython)."""

    def has_ext_modules(self):
        return True


setup(cmdclass={'build_py': build_rust}, distclass=BinaryDistribution)

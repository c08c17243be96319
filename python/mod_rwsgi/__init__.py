"""mod_rwsgi installed with pip: the Apache module built for this Python, and rwsgi-express.

    module_path()   the mod_rwsgi.so of this installation (LoadModule rwsgi_module <path>)
    python_home()   the Python environment it serves (WSGIPythonHome <path>)
"""

import os
import sys

__all__ = ['module_path', 'express_path', 'python_home']

_HERE = os.path.dirname(os.path.abspath(__file__))


def module_path():
    return os.path.join(_HERE, 'mod_rwsgi.so')


def express_path():
    return os.path.join(_HERE, 'rwsgi-express')


def python_home():
    """The virtual environment this package is installed in, else the Python installation's prefix."""
    return sys.prefix

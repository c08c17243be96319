import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from flask_site import app as application  # noqa: E402

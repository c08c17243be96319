# Imported at process start by WSGIImportScript: leaves a mark the application can see.
import builtins
import os

builtins.RWSGI_IMPORTED = 'pid %d' % os.getpid()
